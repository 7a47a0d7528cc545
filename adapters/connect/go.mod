module github.com/oryguard/oryguard/adapters/connect

go 1.26.0

require (
	connectrpc.com/connect v1.21.1
	connectrpc.com/grpchealth v1.5.0
	github.com/ory/client-go v1.22.92
	github.com/oryguard/oryguard/core v0.1.0
	google.golang.org/genproto/googleapis/rpc v0.0.0-20261110000943-09e21b237f2c
	google.golang.org/protobuf v1.36.12
)

require (
	github.com/maypok86/otter/v2 v2.4.0 // indirect
	golang.org/x/net v0.56.0 // indirect
	golang.org/x/oauth2 v0.37.0 // indirect
)

replace github.com/oryguard/oryguard/core => ../../core
