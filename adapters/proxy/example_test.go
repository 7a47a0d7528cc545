package oryproxy_test

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"

	oryproxy "github.com/oryguard/oryguard/adapters/proxy"
)

// Mount the proxy under /.ory on the app: the browser talks to Ory through
// the app's origin, and Ory's redirects, links and cookies come back for
// the app.
func Example() {
	// A stand-in for Ory: it sends the browser to its login UI.
	ory := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "csrf_token_1", Value: "c", Path: "/", Domain: r.Host, HttpOnly: true})
		http.Redirect(w, r, "http://"+r.Host+"/ui/login?flow=1", http.StatusSeeOther)
	}))
	defer ory.Close()

	proxy, err := oryproxy.New(oryproxy.Config{
		OryURL: ory.URL,                 // Ory Network: https://<slug>.projects.oryapis.com
		AppURL: "http://localhost:8080", // the app's public origin, never taken from Host
	})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/.ory/", proxy) // outside any guard, exempt from the app's CSRF middleware
	app := httptest.NewServer(mux)
	defer app.Close()

	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(app.URL + "/.ory/self-service/login/browser")
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	fmt.Println(resp.StatusCode)
	fmt.Println(resp.Header.Get("Location"))
	fmt.Println(resp.Header.Get("Set-Cookie"))
	fmt.Println(proxy.URL())
	// Output:
	// 303
	// http://localhost:8080/.ory/ui/login?flow=1
	// csrf_token_1=c; Path=/; HttpOnly
	// http://localhost:8080/.ory
}
