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
// it sent a session token, its Accept prefers JSON over HTML, or its body is
// JSON.
func isAPI(r *Request) bool {
	if r.sessionToken() != "" {
		return true
	}
	if _, ok := bearer(r.authorization()); ok {
		return true
	}
	if prefersJSON(r.accept()) {
		return true
	}
	return isJSONMediaType(r.contentType())
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
