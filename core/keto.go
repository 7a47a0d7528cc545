package core

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	client "github.com/ory/client-go"
	"github.com/oryguard/oryguard/core/internal/backoff"
)

// maxKetoBody caps how much of an answer from Ory Permissions the guard
// reads. A check answers {"allowed":true}; a batch of Keto's largest
// default size (limit.max_batch_check_size, 10) a few hundred bytes. A
// longer answer is not Keto's and is a 502.
const maxKetoBody = 64 << 10

// keto is the guard's client of Ory Permissions (Keto): the permission
// checks of every route with Permit options.
type keto struct {
	api     *client.APIClient
	url     string // the read API's base URL, no trailing slash
	timeout time.Duration
	batch   bool
	log     *slog.Logger
	now     func() time.Time

	sem        chan struct{}   // bounds calls in flight; nil means unlimited
	busyLogged atomic.Int64    // unix ns of the last "too many" log line
	backoff    backoff.Backoff // after a 429 from Keto

	mu      sync.Mutex
	flights map[permKey]*permFlight

	cache *permCache // allowed answers; nil when Permissions.CacheTTL is zero

	obs     PermissionObserver // nil when the Observer does not implement it
	objects bool               // Permissions.ObserveObjects
}

// tuple is one question to Keto: has subject relation on namespace:object?
// The subject is the identity ID, or the subject set setNS:subject#setRel
// when setNS is set.
type tuple struct {
	namespace, object, relation string
	subject                     string
	setNS, setRel               string
}

// permKey names a question (one tuple, or a batch of them) by a SHA-256 of
// its length-prefixed fields: collapse and cache keys of a fixed size,
// whatever the object IDs look like.
type permKey [sha256.Size]byte

func keyOf(ts []tuple) permKey {
	h := sha256.New()
	var n [8]byte
	field := func(s string) {
		binary.BigEndian.PutUint64(n[:], uint64(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	for i := range ts {
		t := &ts[i]
		field(t.namespace)
		field(t.object)
		field(t.relation)
		field(t.subject)
		field(t.setNS)
		field(t.setRel)
	}
	var k permKey
	h.Sum(k[:0])
	return k
}

// verdict is how a permission question ended: reasonSession when every
// tuple was allowed, else the reason to deny.
type verdict struct {
	kind       reason
	retryAfter int // seconds, for reasonPermRateLimited
}

// initPermissions validates Config.Permissions and builds the Keto client
// on base, the guard's own (already copied) client for whoami.
func (g *Guard) initPermissions(cfg *Config, base *http.Client) error {
	pc := cfg.Permissions
	if pc.Timeout < 0 {
		return fmt.Errorf("%w: Permissions.Timeout is negative; leave it zero for DefaultTimeout", ErrInvalidConfig)
	}
	if pc.CacheTTL < 0 {
		return fmt.Errorf("%w: Permissions.CacheTTL is negative; leave it zero to ask Ory Permissions on every request", ErrInvalidConfig)
	}
	if pc.CacheTTL > 0 && cfg.Cache.Disabled {
		return fmt.Errorf("%w: Permissions.CacheTTL needs the session cache (Cache.Disabled is set): a logout finds the identity whose permissions to forget there", ErrInvalidConfig)
	}
	if pc.CacheMaxEntries < 0 {
		return fmt.Errorf("%w: Permissions.CacheMaxEntries is negative", ErrInvalidConfig)
	}
	u := g.ory
	if pc.URL != "" {
		pu, err := baseURL("Config.Permissions.URL", pc.URL, "set it to Keto's read API (such as http://keto:4466) or the Ory Network project URL, or leave it empty for OryURL")
		if err != nil {
			return err
		}
		u = pu.String()
	}
	k := &keto{
		url:     u,
		timeout: pc.Timeout,
		batch:   pc.Batch,
		log:     g.log,
		now:     g.now,
		flights: map[permKey]*permFlight{},
		objects: pc.ObserveObjects,
	}
	if k.timeout == 0 {
		k.timeout = DefaultTimeout
	}
	k.backoff.Interval = time.Second / BackoffProbesPerSecond
	switch n := cfg.MaxConcurrentLookups; {
	case n == 0:
		k.sem = make(chan struct{}, DefaultMaxConcurrentLookups)
	case n > 0:
		k.sem = make(chan struct{}, n)
	}
	if pc.CacheTTL > 0 {
		k.cache = newPermCache(pc.CacheTTL, pc.CacheMaxEntries, k.timeout)
	}
	var hc *http.Client
	if pc.HTTPClient != nil {
		hc = safeClient(pc.HTTPClient)
	} else {
		cp := *base // the guard's transport (its idle connections), not its body limit
		if lt, ok := cp.Transport.(limitTransport); ok {
			cp.Transport = lt.next
		}
		hc = &cp
	}
	next := hc.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	hc.Transport = ketoTransport{next: next}
	if cfg.Observer != nil {
		hc.Transport = observeTransport{next: hc.Transport, o: cfg.Observer}
		k.obs, _ = cfg.Observer.(PermissionObserver)
	}
	oc := client.NewConfiguration()
	oc.Servers = client.ServerConfigurations{{URL: u}}
	oc.OperationServers = nil
	oc.HTTPClient = hc
	oc.UserAgent = userAgent
	if pc.APIKey != "" {
		oc.AddDefaultHeader("Authorization", "Bearer "+pc.APIKey)
	}
	k.api = client.NewAPIClient(oc)
	g.perm = k
	return nil
}

// ketoTransport caps every answer's body at maxKetoBody.
type ketoTransport struct{ next http.RoundTripper }

func (t ketoTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(r)
	if err == nil && resp.Body != nil {
		resp.Body = &limitedBody{rc: resp.Body, left: maxKetoBody + 1}
	}
	return resp, err
}

// permFlight is one call to Keto that concurrent identical questions share.
type permFlight struct {
	done    chan struct{} // closed when call is set
	call    verdict       // how the call ended
	waiters int           // callers waiting for it (under keto.mu), for tests
}

// ask answers ts (all of a route's tuples not already answered by the
// cache): every one must be allowed. With Batch, several go in one call to
// /relation-tuples/batch/check; otherwise each goes in its own call, all
// concurrently, and the first that is not allowed ends the others.
func (k *keto) ask(ctx context.Context, ts []tuple) verdict {
	if len(ts) == 1 || k.batch {
		return k.collapse(ctx, ts)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // the first that is not allowed ends the others
	out := make(chan verdict, len(ts))
	for i := range ts {
		go func(t []tuple) { out <- k.collapse(ctx, t) }(ts[i : i+1 : i+1])
	}
	for range ts {
		if v := <-out; v.kind != reasonSession {
			return v
		}
	}
	return verdict{kind: reasonSession}
}

// collapse shares one call to Keto between concurrent identical questions,
// as the guard's whoami flights do (collapse.go): the first caller leads
// on its own goroutine; others wait for its answer or their own context,
// and ask again when the leader's context ended before Keto answered.
func (k *keto) collapse(ctx context.Context, ts []tuple) verdict {
	key := keyOf(ts)
	for {
		k.mu.Lock()
		f, ok := k.flights[key]
		if !ok {
			f = &permFlight{done: make(chan struct{})}
			k.flights[key] = f
			k.mu.Unlock()
			k.lead(ctx, key, ts, f)
			return f.call
		}
		f.waiters++
		k.mu.Unlock()
		select {
		case <-f.done:
			if f.call.kind == reasonCanceled && ctx.Err() == nil {
				continue
			}
			return f.call
		case <-ctx.Done():
			return verdict{kind: reasonCanceled}
		}
	}
}

func (k *keto) lead(ctx context.Context, key permKey, ts []tuple, f *permFlight) {
	defer func() {
		k.mu.Lock()
		delete(k.flights, key)
		k.mu.Unlock()
		close(f.done)
	}()
	f.call = k.call(ctx, ts)
}

// call asks Keto about ts in one request and says how it ended: allowed
// when every tuple is, denied when Keto denied one, else why it failed.
func (k *keto) call(ctx context.Context, ts []tuple) verdict {
	if k.sem != nil {
		select {
		case k.sem <- struct{}{}:
			defer func() { <-k.sem }()
		default:
			if now := time.Now().UnixNano(); now-k.busyLogged.Load() >= int64(time.Second) {
				k.busyLogged.Store(now) // at most about one line a second
				k.log.LogAttrs(ctx, slog.LevelWarn, "oryguard: too many concurrent permission checks; answering 503",
					slog.Int("limit", cap(k.sem)))
			}
			return verdict{kind: reasonPermBusy}
		}
	}
	started := k.now()
	if wait := k.backoff.Wait(started.UnixNano()); wait > 0 {
		return verdict{kind: reasonPermRateLimited, retryAfter: wait} // honouring Keto's Retry-After
	}
	caller := ctx
	ctx, cancel := context.WithTimeout(ctx, k.timeout)
	defer cancel()
	start := time.Now()
	allowed, resp, err := k.send(ctx, ts)
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close() // client-go has read it already
	}
	v := k.classify(ctx, resp, err)
	switch now := k.now().UnixNano(); v.kind {
	case reasonPermRateLimited:
		k.backoff.Limited(v.retryAfter, now)
	case reasonSession:
		k.backoff.Answered(started.UnixNano(), now)
	}
	if v.kind == reasonSession {
		v = verdict{kind: reasonSession}
		for _, a := range allowed {
			if !a {
				v.kind = reasonPermDenied
			}
		}
	}
	if v.kind != reasonSession && v.kind != reasonPermDenied && caller.Err() != nil {
		v = verdict{kind: reasonCanceled} // the caller left (or a sibling was denied)
	}
	k.report(caller, ts, allowed, v, resp, err, time.Since(start))
	if k.cache != nil && (v.kind == reasonSession || v.kind == reasonPermDenied) {
		for i, a := range allowed { // each allowed tuple, also of a batch Keto denied another of
			if a {
				k.cache.store(&ts[i], started)
			}
		}
	}
	return v
}

// errKetoAnswer is a well-formed answer that is not Keto's: no body, or a
// batch answer with the wrong number of results or an error in one.
var errKetoAnswer = errors.New("oryguard: unexpected answer from Ory Permissions")

// send makes the call: one check (GET /relation-tuples/check/openapi,
// which answers 200 {"allowed": bool} whether the answer is yes or no), or
// one batch (POST /relation-tuples/batch/check, Keto v0.14+ and Ory
// Network), whose results come in the order of the tuples. Every field
// travels as a query value or in the JSON body, never in the path.
func (k *keto) send(ctx context.Context, ts []tuple) ([]bool, *http.Response, error) {
	if len(ts) == 1 {
		t := &ts[0]
		req := k.api.PermissionAPI.CheckPermission(ctx).
			Namespace(t.namespace).Object(t.object).Relation(t.relation)
		if t.setNS != "" {
			req = req.SubjectSetNamespace(t.setNS).SubjectSetObject(t.subject).SubjectSetRelation(t.setRel)
		} else {
			req = req.SubjectId(t.subject)
		}
		res, resp, err := req.Execute()
		if err == nil && res == nil {
			err = errKetoAnswer
		}
		if err != nil {
			return nil, resp, err
		}
		return []bool{res.Allowed}, resp, nil
	}
	body := client.BatchCheckPermissionBody{Tuples: make([]client.Relationship, len(ts))}
	for i := range ts {
		t := &ts[i]
		rel := client.Relationship{Namespace: t.namespace, Object: t.object, Relation: t.relation}
		if t.setNS != "" {
			rel.SubjectSet = client.NewSubjectSet(t.setNS, t.subject, t.setRel)
		} else {
			rel.SubjectId = &t.subject
		}
		body.Tuples[i] = rel
	}
	res, resp, err := k.api.PermissionAPI.BatchCheckPermission(ctx).BatchCheckPermissionBody(body).Execute()
	if err == nil && (res == nil || len(res.Results) != len(ts)) {
		err = errKetoAnswer
	}
	if err != nil {
		return nil, resp, err
	}
	out := make([]bool, len(ts))
	for i, r := range res.Results {
		if r.Error != nil && *r.Error != "" {
			return nil, resp, fmt.Errorf("%w: tuple %d: %s", errKetoAnswer, i, *r.Error)
		}
		out[i] = r.Allowed
	}
	return out, resp, nil
}

// classify reads how a call to Keto ended; reasonSession means it answered.
func (k *keto) classify(ctx context.Context, resp *http.Response, err error) verdict {
	timedOut := errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil || isTimeout(err)
	switch {
	case resp == nil && timedOut:
		return verdict{kind: reasonPermTimeout}
	case resp == nil:
		return verdict{kind: reasonPermFailed}
	case resp.StatusCode == http.StatusTooManyRequests:
		return verdict{kind: reasonPermRateLimited, retryAfter: retryAfter(resp.Header.Get("Retry-After"), k.now())}
	case resp.StatusCode != http.StatusOK:
		return verdict{kind: reasonPermFailed}
	case err == nil:
		return verdict{kind: reasonSession}
	case timedOut: // the body did not arrive in time
		return verdict{kind: reasonPermTimeout}
	}
	return verdict{kind: reasonPermFailed}
}

// report logs a failed call and tells the PermissionObserver about each
// tuple of the call.
func (k *keto) report(ctx context.Context, ts []tuple, allowed []bool, v verdict, resp *http.Response, err error, d time.Duration) {
	status := 0
	if resp != nil {
		status = resp.StatusCode
	}
	switch v.kind {
	case reasonPermFailed, reasonPermTimeout:
		k.log.LogAttrs(ctx, slog.LevelError, "oryguard: Ory Permissions check failed",
			slog.Int("keto_status", status), slog.String("error", ketoErrString(err)),
			slog.Int("tuples", len(ts)), slog.Duration("elapsed", d))
	case reasonPermRateLimited:
		k.log.LogAttrs(ctx, slog.LevelWarn, "oryguard: Ory Permissions rate-limited the check",
			slog.Int("retry_after_seconds", v.retryAfter))
	}
	if k.obs == nil {
		return
	}
	for i := range ts {
		c := PermissionCheck{
			Namespace: ts[i].namespace,
			Relation:  ts[i].relation,
			Result:    PermissionError,
			Status:    status,
			Duration:  d,
			Batch:     len(ts),
		}
		if k.objects {
			c.Object = ts[i].object
		}
		switch {
		case v.kind == reasonCanceled:
			c.Result = PermissionCanceled
		case allowed == nil:
		case allowed[i]:
			c.Result = PermissionAllowed
		default:
			c.Result = PermissionDenied
		}
		k.obs.PermissionCheck(ctx, c)
	}
}

// ketoErrString describes err without the request URL, whose query holds
// the identity and object IDs of the check.
func ketoErrString(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Op + ": " + errString(ue.Err)
	}
	if errors.Is(err, errBodyTooLarge) || errors.Is(err, io.ErrUnexpectedEOF) {
		return err.Error()
	}
	return errString(err)
}

// reportCached tells the PermissionObserver about a cache hit.
func (k *keto) reportCached(ctx context.Context, t *tuple) {
	if k.obs == nil {
		return
	}
	c := PermissionCheck{Namespace: t.namespace, Relation: t.relation, Result: PermissionAllowed, Cached: true}
	if k.objects {
		c.Object = t.object
	}
	k.obs.PermissionCheck(ctx, c)
}
