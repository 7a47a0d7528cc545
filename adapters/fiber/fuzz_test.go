package oryfiber_test

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/oryguard/oryguard/core"
	"github.com/valyala/fasthttp"
)

// oryRecorder is an http.RoundTripper standing in for Ory: it answers 401
// (nothing is cached) and keeps the credential headers of the last call.
type oryRecorder struct {
	mu    sync.Mutex
	calls int
	sent  http.Header
}

func (o *oryRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	o.mu.Lock()
	o.calls++
	o.sent = http.Header{}
	for _, k := range []string{"X-Session-Token", "Authorization", "Cookie"} {
		if vs := r.Header.Values(k); len(vs) > 0 {
			o.sent[k] = vs
		}
	}
	o.mu.Unlock()
	body := `{"error":{"code":401,"status":"Unauthorized"}}`
	return &http.Response{
		StatusCode: http.StatusUnauthorized, Status: "401 Unauthorized",
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header:        http.Header{"Content-Type": {"application/json"}},
		Body:          io.NopCloser(strings.NewReader(body)),
		ContentLength: int64(len(body)), Request: r,
	}, nil
}

// forwarded runs the guard on r and returns the credential headers it sent
// to Ory (nil when it asked Ory nothing).
func (o *oryRecorder) forwarded(t *testing.T, g *core.Guard, r *core.Request) http.Header {
	t.Helper()
	o.mu.Lock()
	before := o.calls
	o.mu.Unlock()
	d := g.Route(core.ForceAPI()).Authenticate(context.Background(), r)
	if d.Allow {
		t.Fatalf("allowed although Ory answers 401: %+v", d)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	switch o.calls - before {
	case 0:
		return nil
	case 1:
		return o.sent
	default:
		t.Fatalf("%d calls to Ory for one request", o.calls-before)
		return nil
	}
}

// presented is what the raw request carries per header name (lower case):
// its lines, as a client wrote them.
func presented(raw []byte) map[string][]string {
	out := map[string][]string{}
	for line := range bytes.Lines(raw) {
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		k := strings.ToLower(strings.TrimSpace(string(name)))
		out[k] = append(out[k], string(value))
	}
	return out
}

func inAny(s string, lines []string) bool {
	for _, l := range lines {
		if strings.Contains(l, s) {
			return true
		}
	}
	return false
}

// FuzzFasthttpExtract feeds header lines through fasthttp's own request
// parser and then through the adapter's request reading
// (core.RequestFromRaw over fasthttp's header, as Middleware does), and
// holds the credential the guard sends to Ory to core's FuzzExtract
// invariants: it is one of the values presented in its own header, never a
// value from another header, and the lazy raw reading gives the same
// credential as the values fasthttp hands out.
func FuzzFasthttpExtract(f *testing.F) {
	for _, s := range []string{
		"Cookie: ory_kratos_session=MTY5ODc2NTQzMnxEdi1CQkFFQ180SUFBUkFCRUFBQVJf\r\n",
		"X-Session-Token: ory_st_abcdef0123456789\r\n",
		"Authorization: Bearer ory_st_abcdef\r\n",
		"Authorization: bEaReR   tok  \r\nCookie: theme=dark\r\n",
		"Cookie: _ga=GA1.2.3; ory_kratos_session=\"quoted\"; csrf_token_x=y\r\nCookie: app=1\r\n",
		"Cookie: ory_kratos_session=a; ory_kratos_session=b\r\n",
		"Cookie: ory_session_zz=1\r\nCookie: ory_kratos_session=a\r\n",
		"X-Session-Token:   \r\nAuthorization: Bearer good\r\n",
		"X-Other: ory_kratos_session=stolen\r\nCookie: theme=dark\r\n",
		"Cookie: ory_kratos_session=a\r\n X-Folded: 1\r\n",
		"cookie: ory_kratos_session=lower\r\nCOOKIE: ory_session_x=upper\r\n",
		"Cookie: ory_kratos_session=a\nX-Session-Token: b\n",
		"Cookie: ;;;===;; ory_kratos_session ; =x\r\n",
		"Cookie: ory_kratos_session=caf\xc3\xa9\r\n",
		"Cookie: ory_session_a b=val\r\n",
		"Cookie ory_kratos_session=nocolon\r\n",
		"Cookie : ory_kratos_session=space\r\n",
	} {
		f.Add([]byte(s))
	}
	ory := &oryRecorder{}
	g, err := core.New(core.Config{OryURL: "http://ory.test", HTTPClient: &http.Client{Transport: ory}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, headers []byte) {
		raw := append([]byte("GET /page?x=1 HTTP/1.1\r\nHost: app.example\r\n"), headers...)
		raw = append(raw, "\r\n\r\n"...)
		var req fasthttp.Request
		if err := req.Read(bufio.NewReader(bytes.NewReader(raw))); err != nil {
			return // fasthttp refuses it: it never reaches a handler
		}
		h := &req.Header
		r1 := core.RequestFromRaw(h, req.Host())
		got := ory.forwarded(t, g, &r1)

		// The same request as a struct of the values fasthttp hands out.
		r2 := core.Request{
			Method: string(h.Method()), URI: string(h.RequestURI()), Host: string(req.Host()),
			SessionToken: string(h.Peek("X-Session-Token")), Authorization: string(h.Peek("Authorization")),
		}
		for _, c := range h.PeekAll("Cookie") {
			r2.Cookies = append(r2.Cookies, string(c))
		}
		if want := ory.forwarded(t, g, &r2); !equalHeader(got, want) {
			t.Fatalf("raw reading sent %v to Ory, fasthttp's values %v", got, want)
		}
		if got == nil {
			return
		}
		if len(got) != 1 {
			t.Fatalf("sent several credentials to Ory: %v", got)
		}
		lines := presented(raw[:len(raw)-2])
		// A token, from X-Session-Token or a Bearer Authorization (the
		// guard may send either as X-Session-Token), comes from one of those
		// two headers.
		tokenLines := append(lines["x-session-token"], lines["authorization"]...)
		if tok := got.Get("X-Session-Token"); tok != "" && !inAny(tok, tokenLines) {
			t.Fatalf("sent X-Session-Token %q, not presented in a token header (%q)", tok, tokenLines)
		}
		if a := got.Get("Authorization"); a != "" {
			tok, ok := strings.CutPrefix(a, "Bearer ")
			if !ok || !inAny(tok, lines["authorization"]) {
				t.Fatalf("sent Authorization %q, not presented in that header (%q)", a, lines["authorization"])
			}
		}
		if c := got.Get("Cookie"); c != "" {
			cookies, err := http.ParseCookie(c)
			if err != nil || len(cookies) == 0 {
				t.Fatalf("sent Cookie %q that Kratos cannot read: %v", c, err)
			}
			for _, ck := range cookies {
				if !inAny(ck.Name, lines["cookie"]) || !inAny(ck.Value, lines["cookie"]) {
					t.Fatalf("sent cookie %s=%s, not presented in a Cookie header (%q)", ck.Name, ck.Value, lines["cookie"])
				}
			}
		}
	})
}

func equalHeader(a, b http.Header) bool {
	if len(a) != len(b) {
		return false
	}
	for k, va := range a {
		vb := b[k]
		if len(va) != len(vb) {
			return false
		}
		for i := range va {
			if va[i] != vb[i] {
				return false
			}
		}
	}
	return true
}
