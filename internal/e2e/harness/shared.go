package harness

import (
	"context"
	"os"
	"sync"
	"testing"
)

// SharedKratos is one Kratos for every test of a test binary that asks for
// it: started by the first Get, stopped by Main when the tests are done.
// Declare it in a package-level variable with NewSharedKratos.
type SharedKratos struct {
	opts KratosOptions
	once sync.Once
	srv  *Kratos
	err  error
}

// started holds every SharedKratos that Get started, for Main to stop.
var started struct {
	mu   sync.Mutex
	list []*SharedKratos
}

// NewSharedKratos describes a shared Kratos started with opts; nothing
// starts before the first Get.
func NewSharedKratos(opts KratosOptions) *SharedKratos {
	return &SharedKratos{opts: opts}
}

// Get returns the shared Kratos, starting it on the first call. It skips
// the test in -short mode and fails it when Kratos does not start (then
// every later Get fails too, with the same error).
func (s *SharedKratos) Get(t testing.TB) *Kratos {
	t.Helper()
	if testing.Short() {
		t.Skip("skipping test against a real Kratos in -short mode")
	}
	s.once.Do(func() {
		// Not the test's context: the server outlives the test that
		// started it.
		s.srv, s.err = StartKratos(context.Background(), s.opts)
		if s.err == nil {
			started.mu.Lock()
			started.list = append(started.list, s)
			started.mu.Unlock()
		}
	})
	if s.err != nil {
		t.Fatalf("start shared kratos: %v", s.err)
	}
	return s.srv
}

// Main runs the tests, then the after functions, then stops every
// SharedKratos the tests started, and exits with the tests' exit code. Call
// it from TestMain in every test package that uses a SharedKratos:
//
//	func TestMain(m *testing.M) { harness.Main(m) }
func Main(m *testing.M, after ...func()) {
	code := m.Run()
	for _, f := range after {
		f()
	}
	started.mu.Lock()
	for _, s := range started.list {
		_ = s.srv.Stop()
	}
	started.list = nil
	started.mu.Unlock()
	os.Exit(code)
}
