module github.com/oryguard/oryguard/core

go 1.26.0

require (
	github.com/maypok86/otter/v2 v2.4.0
	github.com/ory/client-go v1.22.92
	golang.org/x/net v0.56.0
)

require golang.org/x/oauth2 v0.37.0 // indirect
