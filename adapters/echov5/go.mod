module github.com/oryguard/oryguard/adapters/echov5

go 1.26.0

require (
	github.com/labstack/echo/v5 v5.4.4
	github.com/ory/client-go v1.22.92
	github.com/oryguard/oryguard/core v0.1.0
)

require (
	github.com/maypok86/otter/v2 v2.4.0 // indirect
	golang.org/x/net v0.57.0 // indirect
	golang.org/x/oauth2 v0.37.0 // indirect
	golang.org/x/time v0.15.0 // indirect
)

replace github.com/oryguard/oryguard/core => ../../core
