package harness

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// KetoBinaryEnv is the environment variable that overrides the Keto binary.
const KetoBinaryEnv = "ORYGUARD_KETO_BIN"

// DefaultKetoNamespaces are the namespaces a Keto started with the zero
// KetoOptions knows, with the IDs 0, 1, ... in this order.
var DefaultKetoNamespaces = []string{"documents", "groups"}

// KetoOptions configure a Keto server. The zero value is usable.
type KetoOptions struct {
	// Binary is the Keto executable. Default: $ORYGUARD_KETO_BIN, else
	// <repo root>/.cache/bin/keto (built by `make keto`).
	Binary string
	// Namespaces are the configured namespaces, with the IDs 0, 1, ...
	// Default: DefaultKetoNamespaces.
	Namespaces []string
	// ReadPort and WritePort are the ports of the read and write APIs on
	// 127.0.0.1; 0 picks a free port at start. Keto also serves metrics
	// and the OPL syntax API, always on free ports. Restart keeps the
	// ports chosen at start.
	ReadPort  int
	WritePort int
	// LogWriter receives Keto's stdout and stderr. Default: discarded;
	// the last part is always kept for error messages and LogTail.
	LogWriter io.Writer
	// LogLevel is Keto's log level. Default: info (one line per request);
	// benchmarks use error.
	LogLevel string
	// ReadyTimeout bounds the wait for Keto to report ready. Default: 60s.
	ReadyTimeout time.Duration
	// Logger receives the harness's own messages. Default: slog.Default().
	Logger *slog.Logger
}

// Keto is a running Ory Keto (v0.13) with an in-memory database: every
// relation tuple is gone when the process ends, and on Restart. Its methods
// are safe for concurrent use.
type Keto struct {
	opts       KetoOptions
	dir        string
	configPath string
	readURL    string
	writeURL   string
	out        io.Writer
	tail       *tailBuffer
	http       *http.Client

	mu      sync.Mutex
	cmd     *exec.Cmd
	exited  chan struct{} // closed when cmd has exited
	waitErr error         // cmd.Wait's result, set before exited is closed
	closed  bool
}

// ketoPorts are the four ports `keto serve` listens on.
type ketoPorts struct{ read, write, metrics, opl int }

// StartKeto writes a configuration (dsn memory, opts.Namespaces) into a new
// temporary folder, starts `keto serve` and waits until its read and write
// APIs report ready. Close ends it and removes the folder.
func StartKeto(ctx context.Context, opts KetoOptions) (*Keto, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(opts.Binary); err != nil {
		return nil, fmt.Errorf("keto binary %s: %w (run `make keto` to build it, or set %s)", opts.Binary, err, KetoBinaryEnv)
	}
	// As in StartKratos: a free port can be taken by another test process
	// before Keto binds it; a start that lost that race on ports the
	// harness chose is tried again on new ones.
	for attempt := 1; ; attempt++ {
		p := ketoPorts{read: opts.ReadPort, write: opts.WritePort}
		for _, port := range []*int{&p.read, &p.write, &p.metrics, &p.opl} {
			if *port == 0 {
				if *port, err = FreePort(); err != nil {
					return nil, err
				}
			}
		}
		k, err := startKeto(ctx, opts, p)
		if err == nil || attempt == 3 || !errors.Is(err, errPortTaken) {
			return k, err
		}
		// Metrics and OPL ports are always the harness's own choice; the
		// read and write ports only when opts left them zero.
		opts.Logger.Info("keto lost a port to another process; trying other ports", "attempt", attempt)
	}
}

// startKeto starts Keto on the ports p.
func startKeto(ctx context.Context, opts KetoOptions, p ketoPorts) (*Keto, error) {
	dir, err := os.MkdirTemp("", "oryguard-keto-*")
	if err != nil {
		return nil, fmt.Errorf("create keto work folder: %w", err)
	}
	configPath := filepath.Join(dir, "keto.yml")
	if err := os.WriteFile(configPath, ketoConfig(opts, p), 0o600); err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("write keto config: %w", err)
	}
	k := &Keto{
		opts:       opts,
		dir:        dir,
		configPath: configPath,
		readURL:    baseURL(p.read),
		writeURL:   baseURL(p.write),
		tail:       &tailBuffer{max: 64 << 10},
		http:       &http.Client{Timeout: 5 * time.Second},
	}
	k.out = k.tail
	if opts.LogWriter != nil {
		k.out = io.MultiWriter(opts.LogWriter, k.tail)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if err := k.launch(ctx); err != nil {
		_ = os.RemoveAll(dir)
		if strings.Contains(k.tail.String(), "address already in use") {
			err = fmt.Errorf("%w: %w", errPortTaken, err)
		}
		return nil, err
	}
	return k, nil
}

// ketoConfig is Keto's configuration file. JSON is YAML, and quotes every
// string safely.
func ketoConfig(opts KetoOptions, p ketoPorts) []byte {
	type listen struct {
		Host string `json:"host"`
		Port int    `json:"port"`
	}
	type namespace struct {
		ID   int    `json:"id"`
		Name string `json:"name"`
	}
	ns := make([]namespace, len(opts.Namespaces))
	for i, n := range opts.Namespaces {
		ns[i] = namespace{ID: i, Name: n}
	}
	cfg := map[string]any{
		"dsn":        "memory",
		"namespaces": ns,
		"log":        map[string]any{"level": opts.LogLevel, "format": "text"},
		"serve": map[string]listen{
			"read":    {"127.0.0.1", p.read},
			"write":   {"127.0.0.1", p.write},
			"metrics": {"127.0.0.1", p.metrics},
			"opl":     {"127.0.0.1", p.opl},
		},
	}
	b, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		panic(err) // maps of strings and ints always marshal
	}
	return b
}

// StartKetoT starts Keto for a test, closes it when the test ends and fails
// the test if Keto does not start. It skips the test in -short mode. When
// the test failed, the tail of Keto's log is added to the test log.
func StartKetoT(t testing.TB, opts KetoOptions) *Keto {
	t.Helper()
	if testing.Short() {
		t.Skip("skipping test against a real Keto in -short mode")
	}
	k, err := StartKeto(t.Context(), opts)
	if err != nil {
		t.Fatalf("start keto: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("keto log (tail):\n%s", k.LogTail())
		}
		if err := k.Close(); err != nil {
			t.Errorf("close keto: %v", err)
		}
	})
	return k
}

// ReadURL is the base URL of Keto's read API (checks), without a trailing
// slash: what an app configures as its permission API.
func (k *Keto) ReadURL() string { return k.readURL }

// WriteURL is the base URL of Keto's write API (/admin/relation-tuples),
// without a trailing slash.
func (k *Keto) WriteURL() string { return k.writeURL }

// LogTail returns the last part of Keto's output.
func (k *Keto) LogTail() string { return k.tail.String() }

// Stop ends the Keto process (SIGTERM, then SIGKILL after five seconds),
// so that its ports refuse connections, and keeps its configuration for
// Restart. Calling it when Keto is not running does nothing.
func (k *Keto) Stop() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.stopProcess()
}

// Restart stops Keto if it runs and starts it again on the same ports with
// the same configuration. Every relation tuple is lost (dsn memory).
func (k *Keto) Restart(ctx context.Context) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.closed {
		return errors.New("restart keto: server was closed")
	}
	if err := k.stopProcess(); err != nil {
		return fmt.Errorf("restart keto: %w", err)
	}
	if err := k.launch(ctx); err != nil {
		return fmt.Errorf("restart keto: %w", err)
	}
	return nil
}

// Close stops Keto and removes its temporary folder. Calling it again does
// nothing.
func (k *Keto) Close() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.closed {
		return nil
	}
	k.closed = true
	err := k.stopProcess()
	if rmErr := os.RemoveAll(k.dir); rmErr != nil {
		err = errors.Join(err, fmt.Errorf("remove keto work folder: %w", rmErr))
	}
	return err
}

// launch starts the Keto process and waits until it is ready. k.mu is held.
func (k *Keto) launch(ctx context.Context) error {
	began := time.Now()
	//nolint:noctx // Keto outlives the start context; Stop ends it.
	cmd := exec.Command(k.opts.Binary, "serve", "-c", k.configPath, "--sqa-opt-out")
	cmd.Env = kratosEnv() // the same small environment: Keto too reads DSN, SERVE_*, LOG_*
	cmd.Stdout, cmd.Stderr = k.out, k.out
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start keto %s: %w", k.opts.Binary, err)
	}
	exited := make(chan struct{})
	k.cmd, k.exited = cmd, exited
	go func() {
		k.waitErr = cmd.Wait()
		close(exited)
	}()
	if err := k.waitReady(ctx); err != nil {
		_ = k.stopProcess()
		return fmt.Errorf("%w\nketo log (tail):\n%s", err, k.tail.last(errTail))
	}
	k.opts.Logger.Info("keto ready", "read", k.readURL, "write", k.writeURL,
		"took", time.Since(began).Round(time.Millisecond))
	return nil
}

// waitReady polls /health/ready on both APIs. k.mu is held.
func (k *Keto) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, k.opts.ReadyTimeout)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		if k.ready(ctx, k.readURL) && k.ready(ctx, k.writeURL) {
			return nil
		}
		select {
		case <-k.exited:
			return fmt.Errorf("keto exited before it was ready: %w", k.waitErr)
		case <-ctx.Done():
			return fmt.Errorf("wait for keto to be ready: %w", ctx.Err())
		case <-tick.C:
		}
	}
}

func (k *Keto) ready(ctx context.Context, base string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/health/ready", nil)
	if err != nil {
		return false
	}
	resp, err := k.http.Do(req)
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// stopProcess ends the running process, if any. k.mu is held.
func (k *Keto) stopProcess() error {
	if k.cmd == nil {
		return nil
	}
	cmd, exited := k.cmd, k.exited
	k.cmd = nil
	select {
	case <-exited:
		return nil
	default:
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		_ = cmd.Process.Kill()
	}
	select {
	case <-exited:
		return nil
	case <-time.After(5 * time.Second):
	}
	k.opts.Logger.Warn("keto ignored SIGTERM, killing it", "pid", cmd.Process.Pid)
	if err := cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("kill keto: %w", err)
	}
	<-exited
	return nil
}

func (o KetoOptions) withDefaults() (KetoOptions, error) {
	if o.Binary == "" {
		o.Binary = os.Getenv(KetoBinaryEnv)
	}
	if o.Binary == "" {
		root, err := RepoRoot()
		if err != nil {
			return o, fmt.Errorf("%w (or set %s to the keto binary)", err, KetoBinaryEnv)
		}
		o.Binary = filepath.Join(root, ".cache", "bin", "keto")
	}
	if len(o.Namespaces) == 0 {
		o.Namespaces = DefaultKetoNamespaces
	}
	if o.LogLevel == "" {
		o.LogLevel = "info"
	}
	if o.ReadyTimeout <= 0 {
		o.ReadyTimeout = 60 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o, nil
}

// Tuple is one relation tuple: namespace:object#relation@subject, where
// the subject is either SubjectID or SubjectSet.
type Tuple struct {
	Namespace  string      `json:"namespace"`
	Object     string      `json:"object"`
	Relation   string      `json:"relation"`
	SubjectID  string      `json:"subject_id,omitempty"`
	SubjectSet *SubjectSet `json:"subject_set,omitempty"`
}

// SubjectSet is the subject namespace:object#relation: every subject that
// has relation on namespace:object.
type SubjectSet struct {
	Namespace string `json:"namespace"`
	Object    string `json:"object"`
	Relation  string `json:"relation"`
}

// String is the tuple in Keto's notation, for messages.
func (t Tuple) String() string {
	subject := t.SubjectID
	if t.SubjectSet != nil {
		subject = t.SubjectSet.Namespace + ":" + t.SubjectSet.Object + "#" + t.SubjectSet.Relation
	}
	return t.Namespace + ":" + t.Object + "#" + t.Relation + "@" + subject
}

// query is the tuple as the URL query of Keto's delete and check
// endpoints: every field set, so that a delete removes this one tuple and
// never a wider match.
func (t Tuple) query() (string, error) {
	if t.Namespace == "" || t.Object == "" || t.Relation == "" || (t.SubjectID == "") == (t.SubjectSet == nil) {
		return "", fmt.Errorf("tuple %s: namespace, object, relation and exactly one subject are required", t)
	}
	q := url.Values{}
	q.Set("namespace", t.Namespace)
	q.Set("object", t.Object)
	q.Set("relation", t.Relation)
	if t.SubjectSet != nil {
		q.Set("subject_set.namespace", t.SubjectSet.Namespace)
		q.Set("subject_set.object", t.SubjectSet.Object)
		q.Set("subject_set.relation", t.SubjectSet.Relation)
	} else {
		q.Set("subject_id", t.SubjectID)
	}
	return q.Encode(), nil
}

// WriteTuples writes tuples through the write API (PUT
// /admin/relation-tuples), one request each.
func (k *Keto) WriteTuples(ctx context.Context, tuples ...Tuple) error {
	for _, t := range tuples {
		if _, err := t.query(); err != nil {
			return fmt.Errorf("write %w", err)
		}
		body, err := json.Marshal(t)
		if err != nil {
			return fmt.Errorf("write tuple %s: %w", t, err)
		}
		if _, err := k.do(ctx, http.MethodPut, k.writeURL+"/admin/relation-tuples", body, http.StatusCreated); err != nil {
			return fmt.Errorf("write tuple %s: %w", t, err)
		}
	}
	return nil
}

// DeleteTuples deletes tuples through the write API (DELETE
// /admin/relation-tuples with every field in the query), one request each.
func (k *Keto) DeleteTuples(ctx context.Context, tuples ...Tuple) error {
	for _, t := range tuples {
		q, err := t.query()
		if err != nil {
			return fmt.Errorf("delete %w", err)
		}
		if _, err := k.do(ctx, http.MethodDelete, k.writeURL+"/admin/relation-tuples?"+q, nil, http.StatusNoContent); err != nil {
			return fmt.Errorf("delete tuple %s: %w", t, err)
		}
	}
	return nil
}

// Check asks the read API whether the tuple holds, directly or through
// subject sets (GET /relation-tuples/check/openapi).
func (k *Keto) Check(ctx context.Context, t Tuple) (bool, error) {
	q, err := t.query()
	if err != nil {
		return false, fmt.Errorf("check %w", err)
	}
	body, err := k.do(ctx, http.MethodGet, k.readURL+"/relation-tuples/check/openapi?"+q, nil, http.StatusOK)
	if err != nil {
		return false, fmt.Errorf("check %s: %w", t, err)
	}
	var r struct {
		Allowed *bool `json:"allowed"`
	}
	if err := json.Unmarshal(body, &r); err != nil || r.Allowed == nil {
		return false, fmt.Errorf("check %s: answer %q is not {\"allowed\": bool}", t, body)
	}
	return *r.Allowed, nil
}

// do sends one request and returns the body of an answer with status want.
func (k *Keto) do(ctx context.Context, method, target string, body []byte, want int) ([]byte, error) {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, r)
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := k.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("%s %s: read answer: %w", method, req.URL.Path, err)
	}
	if resp.StatusCode != want {
		return nil, fmt.Errorf("%s %s: status %d, want %d: %s", method, req.URL.Path, resp.StatusCode, want, bytes.TrimSpace(b))
	}
	return b, nil
}
