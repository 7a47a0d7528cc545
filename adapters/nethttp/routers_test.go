package oryhttp_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/gorilla/mux"
	oryhttp "github.com/oryguard/oryguard/adapters/nethttp"
	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/core/orytest"
)

// oryhttp.Middleware is the standard func(http.Handler) http.Handler, so it
// plugs into http.ServeMux, chi and gorilla/mux with no glue code.
func TestNetHTTPMiddlewareFitsRouters(t *testing.T) {
	ory := orytest.NewServer()
	defer ory.Close()
	ory.Session("good", orytest.ActiveSession("s1", "a@example.com"))
	guard, err := core.New(core.Config{OryURL: ory.URL})
	if err != nil {
		t.Fatal(err)
	}
	me := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, ok := oryhttp.Session(r.Context())
		if !ok {
			http.Error(w, "no session", http.StatusInternalServerError)
			return
		}
		_, _ = w.Write([]byte(s.Id))
	})
	public := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("public")) })

	serveMux := http.NewServeMux()
	serveMux.Handle("/me", oryhttp.Middleware(guard)(me))
	serveMux.Handle("/", public)

	chiRouter := chi.NewRouter()
	chiRouter.Get("/", public)
	chiRouter.Group(func(r chi.Router) {
		r.Use(oryhttp.Middleware(guard))
		r.Get("/me", me)
	})

	gorilla := mux.NewRouter()
	gorilla.Handle("/", public)
	private := gorilla.PathPrefix("/me").Subrouter()
	private.Use(oryhttp.Middleware(guard))
	private.Handle("", me)

	for name, h := range map[string]http.Handler{"ServeMux": serveMux, "chi": chiRouter, "gorilla/mux": gorilla} {
		t.Run(name, func(t *testing.T) {
			for _, tc := range []struct {
				path, cookie string
				status       int
				body         string
			}{
				{"/", "", 200, "public"},
				{"/me", "", 303, ""},
				{"/me", "ory_kratos_session=good", 200, "s1"},
			} {
				rec := httptest.NewRecorder()
				req := httptest.NewRequest(http.MethodGet, tc.path, nil)
				req.Header.Set("Accept", "text/html")
				if tc.cookie != "" {
					req.Header.Set("Cookie", tc.cookie)
				}
				h.ServeHTTP(rec, req)
				if rec.Code != tc.status || (tc.body != "" && rec.Body.String() != tc.body) {
					t.Errorf("%s %s: %d %q, want %d %q", tc.path, tc.cookie, rec.Code, rec.Body, tc.status, tc.body)
				}
			}
		})
	}
}
