package core

import (
	"strconv"
	"strings"
)

func (rt *Route) isAPI(r *Request) bool {
	switch rt.p.mode {
	case modeAPI:
		return true
	case modeBrowser:
		return false
	}
	return isAPI(r)
}

// isAPI reports whether the client should get JSON rather than redirects:
// it sent a session token, it is not loading a page (fetch metadata), its
// Accept prefers JSON over HTML, or its body is JSON.
//
// Fetch metadata comes first after the token: a fetch() or XHR sends
// Accept: */* and cannot use a redirect to Ory's origin, but it says what
// it is in Sec-Fetch-Mode (anything but "navigate") and Sec-Fetch-Dest
// (anything but "document"). A browser's page load sends "navigate" and
// "document", and then Accept decides as for clients without fetch
// metadata.
func isAPI(r *Request) bool {
	if nativeClient(r) || !pageLoad(r) {
		return true
	}
	if prefersJSON(r.accept()) {
		return true
	}
	return isJSONMediaType(r.contentType())
}

// nativeClient reports whether the request carries a session token
// (X-Session-Token or Authorization: Bearer) rather than a browser's
// cookie: a native app or a script, which cannot use a browser flow.
func nativeClient(r *Request) bool {
	if r.sessionToken() != "" {
		return true
	}
	_, ok := bearer(r.authorization())
	return ok
}

// pageLoad reports whether fetch metadata, when the request carries it,
// says it is a page load: Sec-Fetch-Mode navigate and Sec-Fetch-Dest
// document (each when present). A request without fetch metadata (an older
// browser, curl) may be one; Accept decides.
func pageLoad(r *Request) bool {
	if m := strings.TrimSpace(r.secFetchMode()); m != "" && !strings.EqualFold(m, "navigate") {
		return false
	}
	if d := strings.TrimSpace(r.secFetchDest()); d != "" && !strings.EqualFold(d, "document") {
		return false
	}
	return true
}

func isJSONMediaType(ct string) bool {
	if ct == "" {
		return false
	}
	mt, _, _ := strings.Cut(ct, ";")
	mt = strings.TrimSpace(mt)
	return strings.EqualFold(mt, "application/json") || (len(mt) > 5 && strings.EqualFold(mt[len(mt)-5:], "+json"))
}

// prefersJSON reports whether an Accept header ranks JSON above HTML.
func prefersJSON(accept string) bool {
	if accept == "" {
		return false
	}
	jsonQ, htmlQ := -1.0, -1.0
	for len(accept) > 0 {
		var item string
		item, accept, _ = strings.Cut(accept, ",")
		mt, params, _ := strings.Cut(item, ";")
		mt = strings.TrimSpace(mt)
		q := qValue(params)
		switch {
		case isJSONMediaType(mt):
			jsonQ = max(jsonQ, q)
		case strings.EqualFold(mt, "text/html"), strings.EqualFold(mt, "application/xhtml+xml"):
			htmlQ = max(htmlQ, q)
		}
	}
	return jsonQ > 0 && jsonQ > htmlQ
}

// qValue reads the q parameter of one Accept item; absent or malformed is 1.
func qValue(params string) float64 {
	for len(params) > 0 {
		var p string
		p, params, _ = strings.Cut(params, ";")
		k, v, ok := strings.Cut(p, "=")
		if !ok || !strings.EqualFold(strings.TrimSpace(k), "q") {
			continue
		}
		q, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || q < 0 || q > 1 {
			return 1
		}
		return q
	}
	return 1
}
