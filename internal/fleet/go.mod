module github.com/oryguard/oryguard/internal/fleet

go 1.26.0

require (
	github.com/oryguard/oryguard/adapters/nethttp v0.1.0
	github.com/oryguard/oryguard/adapters/redis v0.1.0
	github.com/oryguard/oryguard/core v0.1.0
	github.com/oryguard/oryguard/internal/e2e v0.1.0
	github.com/redis/go-redis/v9 v9.23.0
)

require (
	github.com/boombuler/barcode v1.0.1-0.20190219062509-6c824513bacc // indirect
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/maypok86/otter/v2 v2.4.0 // indirect
	github.com/ory/client-go v1.22.92 // indirect
	github.com/pquerna/otp v1.5.0 // indirect
	go.uber.org/atomic v1.12.0 // indirect
	golang.org/x/oauth2 v0.37.0 // indirect
	golang.org/x/sys v0.48.0 // indirect
)

replace (
	github.com/oryguard/oryguard/adapters/echo => ../../adapters/echo
	github.com/oryguard/oryguard/adapters/fiber => ../../adapters/fiber
	github.com/oryguard/oryguard/adapters/gin => ../../adapters/gin
	github.com/oryguard/oryguard/adapters/nethttp => ../../adapters/nethttp
	github.com/oryguard/oryguard/adapters/redis => ../../adapters/redis
	github.com/oryguard/oryguard/core => ../../core
	github.com/oryguard/oryguard/internal/conformance => ../conformance
	github.com/oryguard/oryguard/internal/e2e => ../e2e
)
