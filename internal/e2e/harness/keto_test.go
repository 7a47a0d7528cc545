package harness_test

import (
	"strings"
	"testing"

	"github.com/oryguard/oryguard/internal/e2e/harness"
)

func TestStartKetoWithoutBinary(t *testing.T) {
	_, err := harness.StartKeto(t.Context(), harness.KetoOptions{Binary: "/nonexistent/keto"})
	if err == nil || !strings.Contains(err.Error(), "run `make keto`") {
		t.Fatalf("StartKeto error = %v, want one that says to run `make keto`", err)
	}
}

func TestKetoTuples(t *testing.T) {
	t.Parallel()
	k := harness.StartKetoT(t, harness.KetoOptions{})
	ctx := t.Context()
	if k.ReadURL() == k.WriteURL() {
		t.Fatalf("read and write APIs share %s", k.ReadURL())
	}

	viewer := harness.Tuple{Namespace: "documents", Object: "report", Relation: "viewer", SubjectID: "alice"}
	member := harness.Tuple{Namespace: "groups", Object: "staff", Relation: "member", SubjectID: "bob"}
	staffView := harness.Tuple{Namespace: "documents", Object: "plan", Relation: "viewer",
		SubjectSet: &harness.SubjectSet{Namespace: "groups", Object: "staff", Relation: "member"}}
	// An object ID with every character that means something in Keto's
	// notation or in a URL is stored and checked as one opaque string.
	hostile := harness.Tuple{Namespace: "documents", Object: "a/../b#c@d:e%2F f?g&h", Relation: "viewer", SubjectID: "carol"}
	check(t, k.WriteTuples(ctx, viewer, member, staffView, hostile))

	type row struct {
		name string
		t    harness.Tuple
		want bool
	}
	rows := func(rs ...row) {
		t.Helper()
		for _, r := range rs {
			got, err := k.Check(ctx, r.t)
			if err != nil {
				t.Fatalf("%s: %v", r.name, err)
			}
			if got != r.want {
				t.Errorf("%s: check %s = %v, want %v", r.name, r.t, got, r.want)
			}
		}
	}
	bobViews := harness.Tuple{Namespace: "documents", Object: "plan", Relation: "viewer", SubjectID: "bob"}
	rows(
		row{"direct tuple", viewer, true},
		row{"other relation", harness.Tuple{Namespace: "documents", Object: "report", Relation: "editor", SubjectID: "alice"}, false},
		row{"other subject", harness.Tuple{Namespace: "documents", Object: "report", Relation: "viewer", SubjectID: "bob"}, false},
		row{"through the group", bobViews, true},
		row{"not in the group", harness.Tuple{Namespace: "documents", Object: "plan", Relation: "viewer", SubjectID: "alice"}, false},
		row{"hostile object as written", hostile, true},
		row{"hostile object's prefix", harness.Tuple{Namespace: "documents", Object: "a", Relation: "viewer", SubjectID: "carol"}, false},
		row{"hostile object decoded", harness.Tuple{Namespace: "documents", Object: "a/../b#c@d:e/ f?g&h", Relation: "viewer", SubjectID: "carol"}, false},
	)

	check(t, k.DeleteTuples(ctx, member, hostile))
	rows(
		row{"group membership deleted", bobViews, false},
		row{"hostile tuple deleted", hostile, false},
		row{"other tuple kept", viewer, true},
	)
	if err := k.WriteTuples(ctx, harness.Tuple{Namespace: "documents", Object: "x", Relation: "viewer"}); err == nil {
		t.Error("a tuple without a subject was written")
	}
	if err := k.DeleteTuples(ctx, harness.Tuple{Namespace: "documents"}); err == nil {
		t.Error("a delete by namespace alone was sent")
	}
}

func TestKetoStopRestart(t *testing.T) {
	t.Parallel()
	k := harness.StartKetoT(t, harness.KetoOptions{LogLevel: "error"})
	ctx := t.Context()
	tuple := harness.Tuple{Namespace: "documents", Object: "d", Relation: "viewer", SubjectID: "alice"}
	check(t, k.WriteTuples(ctx, tuple))
	read := k.ReadURL()

	check(t, k.Stop())
	check(t, k.Stop()) // idempotent
	if _, err := k.Check(ctx, tuple); err == nil {
		t.Fatal("check succeeded against a stopped Keto")
	}

	check(t, k.Restart(ctx))
	if k.ReadURL() != read {
		t.Errorf("read URL changed on restart: %s -> %s", read, k.ReadURL())
	}
	if ok, err := k.Check(ctx, tuple); err != nil || ok {
		t.Errorf("after restart: check = %v, %v; want false (dsn memory loses tuples)", ok, err)
	}

	check(t, k.Close())
	check(t, k.Close()) // idempotent
	if err := k.Restart(ctx); err == nil {
		t.Error("Restart after Close succeeded")
	}
}
