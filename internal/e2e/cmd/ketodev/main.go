// Command ketodev runs the test Keto on fixed ports for the demo (`make
// demo`): the read API (permission checks) on -read, the write API on
// -write, with the namespaces documents and groups. It writes the demo's
// tuples:
//
//	documents:launch-plan#viewer@groups:admins#member  (admins may view the demo document)
//	groups:admins#member@<identity ID>                 (for each identity whose email is in -admins)
//
// The second kind is written as soon as Kratos (its admin API at -kratos)
// lists an identity with one of the -admins emails: sign up with one of
// them and the demo document (/docs/launch-plan) opens. It prints the read and write URLs and runs
// until SIGINT or SIGTERM, then stops Keto.
//
//	go run ./cmd/ketodev -read 4466 -write 4467 -kratos http://127.0.0.1:4434 -admins admin@example.com
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/oryguard/oryguard/internal/e2e/harness"
)

// The demo's object and group.
var (
	demoDocument = harness.Tuple{Namespace: "documents", Object: "launch-plan", Relation: "viewer",
		SubjectSet: &harness.SubjectSet{Namespace: "groups", Object: "admins", Relation: "member"}}
	adminMember = harness.Tuple{Namespace: "groups", Object: "admins", Relation: "member"}
)

func main() {
	if err := run(); err != nil {
		slog.Error("ketodev", "error", err)
		os.Exit(1)
	}
}

func run() error {
	var (
		opts   harness.KetoOptions
		kratos string
		admins string
		quiet  bool
	)
	flag.IntVar(&opts.ReadPort, "read", 4466, "port of Keto's read API on 127.0.0.1")
	flag.IntVar(&opts.WritePort, "write", 4467, "port of Keto's write API on 127.0.0.1")
	flag.StringVar(&kratos, "kratos", "", "Kratos' admin URL: identities with an -admins email join groups:admins (empty: none do)")
	flag.StringVar(&admins, "admins", "admin@example.com", "comma-separated emails whose identities join groups:admins")
	flag.StringVar(&opts.Binary, "bin", "", "Keto binary (default: $"+harness.KetoBinaryEnv+" or <repo>/.cache/bin/keto)")
	flag.BoolVar(&quiet, "quiet", false, "do not copy Keto's log to stderr")
	flag.Parse()
	opts.LogWriter = os.Stderr
	if quiet {
		opts.LogWriter = io.Discard
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	k, err := harness.StartKeto(ctx, opts)
	if err != nil {
		return err
	}
	defer func() { _ = k.Close() }()
	if err := k.WriteTuples(ctx, demoDocument); err != nil {
		return err
	}
	fmt.Printf("KETO_READ_URL=%s\nKETO_WRITE_URL=%s\n", k.ReadURL(), k.WriteURL())

	var emails []string
	for e := range strings.SplitSeq(admins, ",") {
		if e = strings.TrimSpace(e); e != "" {
			emails = append(emails, e)
		}
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	granted := map[string]bool{}
	for {
		if kratos != "" {
			grant(ctx, k, kratos, emails, granted)
		}
		select {
		case <-ctx.Done():
			slog.Info("stopping keto")
			return k.Close()
		case <-tick.C:
		}
	}
}

// grant adds each identity with one of emails that is not yet granted to
// groups:admins.
func grant(ctx context.Context, k *harness.Keto, kratos string, emails []string, granted map[string]bool) {
	for _, email := range emails {
		if granted[email] {
			continue
		}
		id, err := identityID(ctx, kratos, email)
		if err != nil {
			slog.Warn("look up identity", "email", email, "error", err)
			continue
		}
		if id == "" {
			continue // not signed up yet
		}
		t := adminMember
		t.SubjectID = id
		if err := k.WriteTuples(ctx, t); err != nil {
			slog.Warn("grant admin", "email", email, "error", err)
			continue
		}
		granted[email] = true
		slog.Info("granted", "tuple", t.String(), "email", email)
	}
}

// identityID asks Kratos' admin API for the identity whose email is email;
// "" when there is none.
func identityID(ctx context.Context, kratos, email string) (string, error) {
	u := strings.TrimSuffix(kratos, "/") + "/admin/identities?credentials_identifier=" + url.QueryEscape(email)
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", fmt.Errorf("build request: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("list identities: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("list identities: status %d", resp.StatusCode)
	}
	var ids []struct {
		ID string `json:"id"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&ids); err != nil {
		return "", fmt.Errorf("list identities: %w", err)
	}
	switch len(ids) {
	case 0:
		return "", nil
	case 1:
		return ids[0].ID, nil
	}
	return "", errors.New("list identities: more than one identity has this email")
}
