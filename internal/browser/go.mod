module github.com/oryguard/oryguard/internal/browser

go 1.26.0

replace github.com/oryguard/oryguard/internal/e2e => ../e2e

require (
	github.com/chromedp/chromedp v0.23.0
	github.com/oryguard/oryguard/internal/e2e v0.1.0
)

require (
	github.com/boombuler/barcode v1.0.1-0.20190219062509-6c824513bacc // indirect
	github.com/chromedp/cdproto v0.159.0 // indirect
	github.com/go-json-experiment/json v0.0.0-20260213210345-44df1a37e875 // indirect
	github.com/ory/client-go v1.22.92 // indirect
	github.com/pquerna/otp v1.5.0 // indirect
	golang.org/x/oauth2 v0.37.0 // indirect
)

replace github.com/oryguard/oryguard/internal/conformance => ../conformance

replace github.com/oryguard/oryguard/adapters/echo => ../../adapters/echo

replace github.com/oryguard/oryguard/adapters/fiber => ../../adapters/fiber

replace github.com/oryguard/oryguard/adapters/gin => ../../adapters/gin

replace github.com/oryguard/oryguard/adapters/nethttp => ../../adapters/nethttp

replace github.com/oryguard/oryguard/core => ../../core

replace github.com/oryguard/oryguard/adapters/fiberv3 => ../../adapters/fiberv3

replace github.com/oryguard/oryguard/adapters/echov5 => ../../adapters/echov5
