package bench

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	kratos "github.com/oryguard/oryguard/internal/e2e/harness"
)

func TestPercentile(t *testing.T) {
	hundred := make([]float64, 100)
	for i := range hundred {
		hundred[i] = float64(100 - i) // 100..1, unsorted
	}
	tests := []struct {
		name string
		xs   []float64
		p    float64
		want float64
	}{
		{name: "none", xs: nil, p: 50, want: 0},
		{name: "one", xs: []float64{7}, p: 99, want: 7},
		{name: "median of 100", xs: hundred, p: 50, want: 50},
		{name: "p99 of 100", xs: hundred, p: 99, want: 99},
		{name: "max", xs: hundred, p: 100, want: 100},
		{name: "p99 of 3 is the largest", xs: []float64{3, 1, 2}, p: 99, want: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := percentile(tt.xs, tt.p); got != tt.want {
				t.Errorf("percentile(%v) = %v, want %v", tt.p, got, tt.want)
			}
		})
	}
}

func TestParseWrkLatency(t *testing.T) {
	const out = `Running 1s test @ http://127.0.0.1:40000/protected
  1 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   810.12us  320.40us  14.10ms   90.00%
    Req/Sec    20.20k     1.10k   21.00k    75.00%
  Latency Distribution
     50%  635.00us
     75%    1.02ms
     90%    1.50ms
     99%    3.20ms
  20200 requests in 1.00s, 2.05MB read
Requests/sec:  20200.00
Transfer/sec:      2.02MB
`
	res, err := ParseWrk(out)
	if err != nil {
		t.Fatal(err)
	}
	if res.P50 != 635*time.Microsecond || res.P99 != 3200*time.Microsecond {
		t.Errorf("P50 %v, P99 %v; want 635µs, 3.2ms", res.P50, res.P99)
	}
	if res.Requests != 20200 {
		t.Errorf("requests %d", res.Requests)
	}
}

func TestGoLoaderLatency(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		time.Sleep(time.Millisecond)
		_, _ = w.Write(body)
	}))
	defer srv.Close()
	res, err := (&GoLoader{Conns: 2}).Run(t.Context(), srv.URL, nil, 100*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests == 0 || res.P50 < time.Millisecond || res.P99 < res.P50 {
		t.Errorf("%d requests, P50 %v, P99 %v: want requests, P50 >= 1ms (the handler sleeps), P99 >= P50", res.Requests, res.P50, res.P99)
	}
}

func TestUserRows(t *testing.T) {
	fast := []float64{3e5, 4e5, 5e5}
	slow := append([]float64{float64(userDelay + 5*time.Millisecond)}, fast...)
	tests := []struct {
		name            string
		on              userRun
		waited, perMin  Verdict
		wantOnWaitedStr string
	}{
		{name: "no waits, one call per TTL", on: userRun{lat: fast, whoami: 30, elapsed: 30 * time.Second},
			waited: Met, perMin: Met, wantOnWaitedStr: "on 0 of 3"},
		{name: "a wait at a boundary", on: userRun{lat: slow, whoami: 30, elapsed: 30 * time.Second},
			waited: Missed, perMin: Met, wantOnWaitedStr: "on 1 of 4"},
		{name: "asks Ory twice per TTL", on: userRun{lat: fast, whoami: 60, elapsed: 30 * time.Second},
			waited: Met, perMin: Missed, wantOnWaitedStr: "on 0 of 3"},
		{name: "no clicks", on: userRun{},
			waited: Missed, perMin: Missed, wantOnWaitedStr: "on 0 of 0"},
	}
	off := userRun{lat: slow, whoami: 28, elapsed: 30 * time.Second}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows := userRows(30*time.Second, tt.on, off)
			if len(rows) != 3 {
				t.Fatalf("%d rows, want 3", len(rows))
			}
			if rows[1].Verdict != tt.waited || !strings.HasPrefix(rows[1].Value, tt.wantOnWaitedStr) {
				t.Errorf("waited row: %q %v, want %q... %v", rows[1].Value, rows[1].Verdict, tt.wantOnWaitedStr, tt.waited)
			}
			if rows[2].Verdict != tt.perMin {
				t.Errorf("whoami row: %q (target %s) %v, want %v", rows[2].Value, rows[2].Target, rows[2].Verdict, tt.perMin)
			}
		})
	}
}

func TestActiveUser(t *testing.T) {
	srv := kratos.StartKratosT(t, kratos.KratosOptions{LogLevel: "error"})
	rows := ActiveUser(t.Context(), tiny(t), srv)
	wantNoErrors(t, rows)
	if len(rows) != 3 {
		t.Errorf("%d rows, want 3", len(rows))
	}
}

// TestPeer needs Ory Oathkeeper (make oathkeeper), which make test does not
// build: without it the test is skipped.
func TestPeer(t *testing.T) {
	if testing.Short() {
		t.Skip("needs Kratos and Oathkeeper")
	}
	bin, err := OathkeeperBinary("")
	if err != nil {
		t.Skip(err)
	}
	srv := kratos.StartKratosT(t, kratos.KratosOptions{LogLevel: "error"})
	rows := Peer(t.Context(), tiny(t), srv, bin)
	wantNoErrors(t, rows)
	if len(rows) != 7 {
		t.Errorf("%d rows, want 7", len(rows))
	}
}
