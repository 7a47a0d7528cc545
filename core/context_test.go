package core_test

import (
	"context"
	"errors"
	"testing"

	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/core/orytest"
)

func TestContextAndTraits(t *testing.T) {
	if _, ok := core.SessionFromContext(context.Background()); ok {
		t.Fatal("empty context has a session")
	}
	s := orytest.ActiveSession("s1", "a@example.com")
	ctx := core.ContextWithSession(context.Background(), &s)
	got, ok := core.SessionFromContext(ctx)
	if !ok || got.Id != "s1" {
		t.Fatalf("got %v %v", got, ok)
	}
	type person struct {
		Email string `json:"email"`
	}
	p, err := core.Traits[person](got)
	if err != nil || p.Email != "a@example.com" {
		t.Fatalf("Traits = %+v, %v", p, err)
	}
	if _, err := core.Traits[person](nil); !errors.Is(err, core.ErrNoTraits) {
		t.Fatalf("nil session: %v", err)
	}
	if _, err := core.Traits[int](got); err == nil {
		t.Fatal("decoding traits into int succeeded")
	}
}
