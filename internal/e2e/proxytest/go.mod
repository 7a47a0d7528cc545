module github.com/oryguard/oryguard/internal/e2e/proxytest

go 1.26.0

require (
	github.com/oryguard/oryguard/adapters/nethttp v0.1.0
	github.com/oryguard/oryguard/adapters/proxy v0.1.0
	github.com/oryguard/oryguard/core v0.1.0
	github.com/oryguard/oryguard/internal/e2e v0.1.0
	github.com/pquerna/otp v1.5.0
)

require (
	github.com/boombuler/barcode v1.0.1-0.20190219062509-6c824513bacc // indirect
	github.com/maypok86/otter/v2 v2.4.0 // indirect
	github.com/ory/client-go v1.22.92 // indirect
	golang.org/x/oauth2 v0.37.0 // indirect
)

replace (
	github.com/oryguard/oryguard/adapters/echo => ../../../adapters/echo
	github.com/oryguard/oryguard/adapters/echov5 => ../../../adapters/echov5
	github.com/oryguard/oryguard/adapters/fiber => ../../../adapters/fiber
	github.com/oryguard/oryguard/adapters/fiberv3 => ../../../adapters/fiberv3
	github.com/oryguard/oryguard/adapters/gin => ../../../adapters/gin
	github.com/oryguard/oryguard/adapters/nethttp => ../../../adapters/nethttp
	github.com/oryguard/oryguard/adapters/otel => ../../../adapters/otel
	github.com/oryguard/oryguard/adapters/proxy => ../../../adapters/proxy
	github.com/oryguard/oryguard/core => ../../../core
	github.com/oryguard/oryguard/internal/conformance => ../../conformance
	github.com/oryguard/oryguard/internal/e2e => ..
)
