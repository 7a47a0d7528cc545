module github.com/oryguard/oryguard/adapters/redis

go 1.26.0

require (
	github.com/alicebob/miniredis/v2 v2.40.0
	github.com/oryguard/oryguard/adapters/nethttp v0.1.0
	github.com/oryguard/oryguard/core v0.1.0
	github.com/redis/go-redis/v9 v9.23.0
)

require (
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/maypok86/otter/v2 v2.4.0 // indirect
	github.com/ory/client-go v1.22.92 // indirect
	github.com/yuin/gopher-lua v1.1.1 // indirect
	go.uber.org/atomic v1.12.0 // indirect
	golang.org/x/net v0.56.0 // indirect
	golang.org/x/oauth2 v0.37.0 // indirect
	golang.org/x/sys v0.48.0 // indirect
)

replace github.com/oryguard/oryguard/core => ../../core

replace github.com/oryguard/oryguard/adapters/nethttp => ../nethttp
