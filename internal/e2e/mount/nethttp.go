package mount

import (
	"net/http"

	oryhttp "github.com/oryguard/oryguard/adapters/nethttp"
)

// serveNetHTTP serves routes with an http.ServeMux.
func serveNetHTTP(routes ...Route) (*App, error) {
	mux := http.NewServeMux()
	for _, rt := range routes {
		var h http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body := rt.Reply(session(oryhttp.Session(r.Context())))
			w.Header().Set("Content-Type", ReplyContentType)
			_, _ = w.Write(body)
		})
		if rt.Guard != nil {
			h = oryhttp.Middleware(rt.Guard, rt.Options...)(h)
		}
		mux.Handle("GET "+rt.Path, h)
	}
	return serveHandler(mux)
}
