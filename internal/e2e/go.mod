module github.com/oryguard/oryguard/internal/e2e

go 1.26.0

require (
	github.com/ory/client-go v1.22.92
	github.com/pquerna/otp v1.5.0
)

require (
	github.com/boombuler/barcode v1.0.1-0.20190219062509-6c824513bacc // indirect
	golang.org/x/oauth2 v0.37.0 // indirect
)
