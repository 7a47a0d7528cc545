package orytest

import (
	"encoding/json"
	"net/http"
	"time"

	client "github.com/ory/client-go"
)

// ActiveSession returns a session that Ory would count as active: active,
// expiring in an hour, authenticated a minute ago at aal1, for an active
// identity whose traits hold email.
func ActiveSession(id, email string) client.Session {
	now := time.Now().UTC()
	active := true
	state := "active"
	aal := client.AUTHENTICATORASSURANCELEVEL_AAL1
	return client.Session{
		Id:                          id,
		Active:                      &active,
		ExpiresAt:                   ptr(now.Add(time.Hour)),
		AuthenticatedAt:             ptr(now.Add(-time.Minute)),
		IssuedAt:                    ptr(now.Add(-time.Minute)),
		AuthenticatorAssuranceLevel: &aal,
		Identity: &client.Identity{
			Id:        "identity-" + id,
			SchemaId:  "default",
			SchemaUrl: "http://ory.invalid/schemas/default",
			State:     &state,
			Traits:    map[string]any{"email": email},
		},
	}
}

func ptr[T any](v T) *T { return &v }

// Unauthorized is Ory's 401 body for a missing or invalid session.
func Unauthorized() []byte {
	return errorBody(http.StatusUnauthorized, "", "No valid session credentials found in the request.", "")
}

// AAL2Required is Ory's 403 body for a session that needs a second factor;
// redirectTo is its redirect_browser_to.
func AAL2Required(redirectTo string) []byte {
	return errorBody(http.StatusForbidden, "session_aal2_required",
		"An active session was found but it does not fulfill the requested Authenticator Assurance Level.", redirectTo)
}

func errorBody(code int, id, reason, redirectTo string) []byte {
	e := map[string]any{"code": code, "status": http.StatusText(code), "reason": reason, "message": reason}
	if id != "" {
		e["id"] = id
	}
	body := map[string]any{"error": e}
	if redirectTo != "" {
		body["redirect_browser_to"] = redirectTo
	}
	b, _ := json.Marshal(body)
	return b
}
