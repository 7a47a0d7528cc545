package oryredis_test

import (
	"fmt"
	"log"
	"net/http"
	"time"

	"github.com/alicebob/miniredis/v2"
	oryhttp "github.com/oryguard/oryguard/adapters/nethttp"
	oryredis "github.com/oryguard/oryguard/adapters/redis"
	"github.com/oryguard/oryguard/core"
	"github.com/redis/go-redis/v9"
)

// Every instance of the app builds its guard like this, with the same
// Redis and the same fleet secret (from your secret store, not the code).
func ExampleNew() {
	mr := miniredis.NewMiniRedis() // stands in for your Redis in this example
	if err := mr.Start(); err != nil {
		log.Fatal(err)
	}
	defer mr.Close()

	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr(), ContextTimeoutEnabled: true})
	defer rdb.Close()
	tier, err := oryredis.New(oryredis.Config{
		Client:  rdb,
		Secrets: []string{"example-fleet-secret-use-openssl-rand-base64-32"},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer tier.Close()

	guard, err := core.New(core.Config{
		OryURL: "https://example.projects.oryapis.com",
		Cache:  core.CacheConfig{TTL: time.Minute, Shared: tier},
	})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/dashboard", oryhttp.Middleware(guard)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := oryhttp.Session(r.Context())
		fmt.Fprintln(w, "hello", s.Identity.Id)
	})))
	// Logging out through any instance logs out on all of them.
	mux.Handle("/logout", oryhttp.LogoutHandler(guard))
	fmt.Println("fleet guard ready")
	// Output: fleet guard ready
}
