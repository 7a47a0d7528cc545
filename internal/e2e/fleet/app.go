package fleet

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	oryhttp "github.com/oryguard/oryguard/adapters/nethttp"
	oryredis "github.com/oryguard/oryguard/adapters/redis"
	"github.com/oryguard/oryguard/core"
	"github.com/redis/go-redis/v9"
)

// InvalidationLogged is the line an instance logs each time its guard has
// applied an invalidation of sessions by ID (a logout or ForgetSession on
// any instance) from the fleet.
const InvalidationLogged = "oryguard-fleetapp: invalidation applied"

// AppConfig is what one app instance runs with.
type AppConfig struct {
	OryURL  string
	Redis   string // host:port; empty: in-process cache only
	Secrets []string
	TTL     time.Duration
}

func (c AppConfig) args() []string {
	a := []string{"-ory", c.OryURL, "-ttl", c.TTL.String()}
	if c.Redis != "" {
		a = append(a, "-redis", c.Redis)
	}
	for _, s := range c.Secrets {
		a = append(a, "-secret", s)
	}
	return a
}

type secretList []string

func (s *secretList) String() string     { return fmt.Sprint(len(*s), " secrets") }
func (s *secretList) Set(v string) error { *s = append(*s, v); return nil }

// Main is the fleet app (cmd/fleetapp): an oryhttp app with /me (the
// session ID as JSON, API answers only), /logout (oryhttp.LogoutHandler)
// and POST /forget?id= (Guard.ForgetSession). It prints "LISTEN <url>"
// on stdout once it accepts connections and stops on SIGTERM.
func Main(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("fleetapp", flag.ContinueOnError)
	var cfg AppConfig
	var secrets secretList
	fs.StringVar(&cfg.OryURL, "ory", "", "Ory public URL")
	fs.StringVar(&cfg.Redis, "redis", "", "Redis address; empty: no shared tier")
	fs.Var(&secrets, "secret", "fleet secret (repeat to rotate)")
	fs.DurationVar(&cfg.TTL, "ttl", time.Minute, "cache TTL")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("fleetapp flags: %w", err)
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	cc := core.CacheConfig{TTL: cfg.TTL}
	var tier *oryredis.Tier
	if cfg.Redis != "" {
		rdb := redis.NewClient(&redis.Options{Addr: cfg.Redis, DialTimeout: 100 * time.Millisecond, MaxRetries: -1, ContextTimeoutEnabled: true})
		defer rdb.Close()
		var err error
		tier, err = oryredis.New(oryredis.Config{Client: rdb, Secrets: secrets, Logger: log})
		if err != nil {
			return fmt.Errorf("fleetapp: %w", err)
		}
		defer tier.Close()
		cc.Shared = tier
	}
	guard, err := core.New(core.Config{OryURL: cfg.OryURL, Cache: cc, Logger: log})
	if err != nil {
		return fmt.Errorf("fleetapp: %w", err)
	}
	if tier != nil {
		// Registered after the guard's own subscription, so this line is
		// logged once the guard has applied the invalidation: tests wait
		// for it to order a race.
		defer tier.Watch(func(inv core.Invalidation) {
			if len(inv.Sessions) > 0 {
				log.Info(InvalidationLogged)
			}
		})()
	}
	mux := http.NewServeMux()
	mux.Handle("/me", oryhttp.Middleware(guard, core.ForceAPI())(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := oryhttp.Session(r.Context())
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"id": s.Id})
	})))
	mux.Handle("/logout", oryhttp.LogoutHandler(guard))
	mux.HandleFunc("POST /forget", func(w http.ResponseWriter, r *http.Request) {
		if err := guard.ForgetSession(r.Context(), r.URL.Query().Get("id")); err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	l, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("fleetapp: listen: %w", err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	fmt.Fprintf(stdout, "LISTEN http://%s\n", l.Addr())
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if err := srv.Serve(l); !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("fleetapp: serve: %w", err)
	}
	return nil
}
