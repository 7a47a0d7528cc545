package reliability_test

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/internal/e2e/harness"
	"github.com/oryguard/oryguard/internal/e2e/reliability/rig"
)

const password = "correct-horse-battery-staple-42"

var emailSeq atomic.Int64

func TestMain(m *testing.M) { harness.Main(m) }

// quiet keeps the harness's own log lines out of the test output.
var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// shared is one Kratos for every test that does not restart it or need
// special settings. It keeps its data in a SQLite file: with the in-memory
// database, Kratos v1.3.1 answers whoami 401 for live sessions while
// another request writes (see RELIABILITY.md), which would make the
// revocation test blame the guard for Kratos' answer.
var shared = harness.NewSharedKratos(harness.KratosOptions{Persistent: true, LogLevel: "error", Logger: quiet})

func sharedKratos(t *testing.T) *harness.Kratos {
	t.Helper()
	return shared.Get(t)
}

func email(prefix string) string {
	return fmt.Sprintf("%s-%d-%d@example.com", prefix, os.Getpid(), emailSeq.Add(1))
}

// sessions creates one browser session (cookie) and one API session (token).
func sessions(t *testing.T, srv *harness.Kratos) (*harness.BrowserSession, *harness.APISession) {
	t.Helper()
	bs, err := srv.RegisterBrowser(t.Context(), email("browser"), password)
	if err != nil {
		t.Fatal(err)
	}
	as, err := srv.RegisterAPI(t.Context(), email("api"), password)
	if err != nil {
		t.Fatal(err)
	}
	return bs, as
}

func newApp(t *testing.T, cfg core.Config) *rig.App {
	t.Helper()
	a, err := rig.NewApp(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	return a
}

func cookie(bs *harness.BrowserSession) rig.Cred { return rig.Cred{Cookie: bs.Cookie} }
func token(as *harness.APISession) rig.Cred      { return rig.Cred{Token: as.Token} }

// waitFor polls cond every 10ms for up to d.
func waitFor(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}
