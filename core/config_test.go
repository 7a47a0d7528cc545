package core_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/oryguard/oryguard/core"
)

func TestNewValidatesURLs(t *testing.T) {
	t.Setenv("ORY_SDK_URL", "")
	for _, tc := range []struct {
		cfg  core.Config
		want string
	}{
		{core.Config{}, "ORY_SDK_URL"},
		{core.Config{OryURL: "localhost:4433"}, "absolute http or https"},
		{core.Config{OryURL: "ftp://ory.example"}, "absolute http or https"},
		{core.Config{OryURL: "https://"}, "absolute http or https"},
		{core.Config{OryURL: "https://u:p@ory.example"}, "user info"},
		{core.Config{OryURL: "https://ory.example", AppURL: "/relative"}, "Config.AppURL"},
		{core.Config{OryURL: "https://ory.example", Cache: core.CacheConfig{TTL: time.Second, MaxEntries: -1}}, "MaxEntries"},
	} {
		_, err := core.New(tc.cfg)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%+v) = %v, want error mentioning %q", tc.cfg, err, tc.want)
		}
	}
	t.Setenv("ORY_SDK_URL", "https://demo.projects.oryapis.com/")
	g, err := core.New(core.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if g.OryURL() != "https://demo.projects.oryapis.com" {
		t.Fatalf("OryURL = %q", g.OryURL())
	}
}

// TestInvalidConfig: New's errors can be tested with errors.Is.
func TestInvalidConfig(t *testing.T) {
	for _, cfg := range []core.Config{
		{OryURL: "ftp://ory"},
		{OryURL: "http://ory.example", AppURL: "not a url"},
		{OryURL: "http://ory.example", Cache: core.CacheConfig{TTL: time.Second, MaxEntries: -1}},
	} {
		if _, err := core.New(cfg); !errors.Is(err, core.ErrInvalidConfig) {
			t.Errorf("New(%+v) = %v, want ErrInvalidConfig", cfg, err)
		}
	}
}
