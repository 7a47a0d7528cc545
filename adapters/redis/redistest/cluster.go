package redistest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// ClusterNodes is how many primaries StartCluster runs.
const ClusterNodes = 3

// Cluster is a running Redis Cluster of ClusterNodes primaries on loopback,
// without replicas.
type Cluster struct {
	// Addrs are the nodes' host:port on 127.0.0.1.
	Addrs []string
	nodes []*Server
}

// CLIEnv overrides the redis-cli binary (default: redis-cli on PATH).
const CLIEnv = "ORYGUARD_REDIS_CLI"

// StartCluster runs ClusterNodes redis-server processes in cluster mode on
// free ports of 127.0.0.1, joins them with redis-cli --cluster create
// (the slots split evenly, no replicas) and waits until every node reports
// cluster_state:ok.
func StartCluster(ctx context.Context) (*Cluster, error) {
	cli := os.Getenv(CLIEnv)
	if cli == "" {
		var err error
		if cli, err = exec.LookPath("redis-cli"); err != nil {
			return nil, fmt.Errorf("redis-cli not found (Debian's redis-tools package, which redis-server depends on; or set %s): %w", CLIEnv, err)
		}
	}
	c := &Cluster{}
	for range ClusterNodes {
		bus, err := freePort()
		if err != nil {
			_ = c.Stop()
			return nil, err
		}
		s, err := start(ctx, "--cluster-enabled", "yes", "--cluster-port", strconv.Itoa(bus),
			"--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "5000")
		if err != nil {
			_ = c.Stop()
			return nil, err
		}
		c.nodes = append(c.nodes, s)
		c.Addrs = append(c.Addrs, s.Addr)
	}
	args := append([]string{"--cluster", "create"}, c.Addrs...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	//nolint:gosec // cli is redis-cli or the caller's choice; the addresses are ours.
	out, err := exec.CommandContext(ctx, cli, args...).CombinedOutput()
	if err != nil {
		_ = c.Stop()
		return nil, fmt.Errorf("redis-cli --cluster create: %w: %s", err, out)
	}
	deadline := time.Now().Add(20 * time.Second)
	for _, a := range c.Addrs {
		for {
			info, err := command(ctx, a, "CLUSTER INFO")
			if err == nil && strings.Contains(info, "cluster_state:ok") {
				break
			}
			if time.Now().After(deadline) {
				_ = c.Stop()
				if err != nil {
					return nil, fmt.Errorf("cluster node %s not ready within 20s: %w", a, err)
				}
				return nil, fmt.Errorf("cluster node %s not ready within 20s: %s", a, info)
			}
			select {
			case <-ctx.Done():
				_ = c.Stop()
				return nil, fmt.Errorf("wait for the cluster: %w", ctx.Err())
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	return c, nil
}

// StartClusterT starts a cluster for a test and stops it when the test
// ends. It skips the test in -short mode.
func StartClusterT(t testing.TB) *Cluster {
	t.Helper()
	if testing.Short() {
		t.Skip("skipping test against a real Redis Cluster in -short mode")
	}
	c, err := StartCluster(t.Context())
	if err != nil {
		t.Fatalf("start redis cluster: %v", err)
	}
	t.Cleanup(func() {
		if err := c.Stop(); err != nil {
			t.Errorf("stop redis cluster: %v", err)
		}
	})
	return c
}

// Stop ends every node and removes their folders.
func (c *Cluster) Stop() error {
	var errs []error
	for _, s := range c.nodes {
		errs = append(errs, s.Stop())
	}
	return errors.Join(errs...)
}

// command sends one inline command and returns its reply: a simple
// string, an error or a bulk string.
func command(ctx context.Context, addr, cmd string) (string, error) {
	d := net.Dialer{Timeout: time.Second}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return "", fmt.Errorf("dial redis: %w", err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte(cmd + "\r\n")); err != nil {
		return "", fmt.Errorf("send %s: %w", cmd, err)
	}
	r := bufio.NewReader(c)
	line, err := r.ReadString('\n')
	if err != nil {
		return "", fmt.Errorf("read %s: %w", cmd, err)
	}
	line = strings.TrimRight(line, "\r\n")
	switch {
	case strings.HasPrefix(line, "-"):
		return "", errors.New(line[1:])
	case strings.HasPrefix(line, "$"):
		n, err := strconv.Atoi(line[1:])
		if err != nil || n < 0 {
			return "", fmt.Errorf("read %s: bad reply %q", cmd, line)
		}
		b := make([]byte, n+2)
		if _, err := io.ReadFull(r, b); err != nil {
			return "", fmt.Errorf("read %s: %w", cmd, err)
		}
		return string(b[:n]), nil
	}
	return line, nil
}
