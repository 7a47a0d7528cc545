module github.com/oryguard/oryguard/adapters/nethttp

go 1.26.0

require (
	github.com/go-chi/chi/v5 v5.5.0
	github.com/gorilla/mux v1.8.1
	github.com/ory/client-go v1.22.92
	github.com/oryguard/oryguard/core v0.1.0
)

require (
	github.com/maypok86/otter/v2 v2.4.0 // indirect
	golang.org/x/net v0.56.0 // indirect
	golang.org/x/oauth2 v0.37.0 // indirect
)

replace github.com/oryguard/oryguard/core => ../../core
