package core

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	client "github.com/ory/client-go"
)

type ctxKey struct{}

// ContextWithSession returns a copy of ctx that carries s. Adapters call it
// for allowed requests; handlers read it back with SessionFromContext.
func ContextWithSession(ctx context.Context, s *client.Session) context.Context {
	return context.WithValue(ctx, ctxKey{}, s)
}

// SessionFromContext returns the session the guard verified for this
// request. It reports false when the middleware did not run, or ran on an
// optional route without a session. Treat the session as read-only: with
// the cache on, one value serves many requests.
func SessionFromContext(ctx context.Context) (*client.Session, bool) {
	s, ok := ctx.Value(ctxKey{}).(*client.Session)
	return s, ok && s != nil
}

// SessionError tells a handler why it has no session. It returns nil when
// the guard attached a session; the *Denial when the handler runs without
// one on an optional route (errors.Is(err, ErrNoSession) for an anonymous
// request; ErrOryUnavailable, ErrOryTimeout, ErrRateLimited or ErrBusy when
// Ory could not be asked, so a page can show a notice instead of a login
// link); and ErrNoSession when the middleware did not run.
func SessionError(ctx context.Context) error {
	switch v := ctx.Value(ctxKey{}).(type) {
	case *client.Session:
		if v != nil {
			return nil
		}
	case *Denial:
		if v != nil {
			return v
		}
	}
	return ErrNoSession
}

// ErrNoTraits is returned by Traits when the session has no identity
// traits.
var ErrNoTraits = errors.New("oryguard: session has no identity traits")

// Traits decodes the session's identity.traits into T, typically a struct
// that mirrors the identity schema:
//
//	type Person struct{ Email string `json:"email"` }
//	p, err := core.Traits[Person](session)
func Traits[T any](s *client.Session) (T, error) {
	var out T
	if s == nil || s.Identity == nil || s.Identity.Traits == nil {
		return out, ErrNoTraits
	}
	raw, err := json.Marshal(s.Identity.Traits)
	if err != nil {
		return out, fmt.Errorf("oryguard: encode identity traits: %w", err)
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		return out, fmt.Errorf("oryguard: decode identity traits into %T: %w", out, err)
	}
	return out, nil
}
