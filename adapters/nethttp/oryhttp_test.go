package oryhttp_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	oryhttp "github.com/oryguard/oryguard/adapters/nethttp"
	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/core/orytest"
)

func TestMiddleware(t *testing.T) {
	ory := orytest.NewServer()
	defer ory.Close()
	body := []byte(`{"id":"s1","active":true,"expires_at":"2999-01-01T00:00:00Z","identity":{"id":"i1","schema_id":"d","schema_url":"u","traits":{"email":"a@example.com"}}}`)
	ory.Reply("good", orytest.Reply{Body: body, Header: http.Header{"Set-Cookie": {"ory_kratos_session=renewed; Path=/"}}})
	guard, err := core.New(core.Config{OryURL: ory.URL})
	if err != nil {
		t.Fatal(err)
	}
	var ran bool
	var seen string
	h := oryhttp.Middleware(guard)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ran = true
		if s, ok := oryhttp.Session(r.Context()); ok {
			seen = s.Id
		}
		w.WriteHeader(http.StatusTeapot)
	}))

	t.Run("allowed", func(t *testing.T) {
		ran, seen = false, ""
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, "/x", nil)
		req.Header.Set("Cookie", "ory_kratos_session=good")
		h.ServeHTTP(rec, req)
		if !ran || seen != "s1" || rec.Code != http.StatusTeapot {
			t.Fatalf("ran=%v session=%q code=%d", ran, seen, rec.Code)
		}
		if got := rec.Header().Get("Set-Cookie"); got != "ory_kratos_session=renewed; Path=/" {
			t.Fatalf("Set-Cookie = %q", got)
		}
	})
	t.Run("denied", func(t *testing.T) {
		ran = false
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/x?a=1", nil))
		if ran || rec.Code != http.StatusSeeOther || rec.Header().Get("Location") == "" || rec.Body.Len() != 0 {
			t.Fatalf("ran=%v code=%d header=%v body=%q", ran, rec.Code, rec.Header(), rec.Body)
		}
	})
	t.Run("accessor without middleware", func(t *testing.T) {
		if _, ok := oryhttp.Session(httptest.NewRequest(http.MethodGet, "/", nil).Context()); ok {
			t.Fatal("session without middleware")
		}
	})
}
