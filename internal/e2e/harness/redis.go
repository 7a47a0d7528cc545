package harness

import (
	"context"
	"fmt"
	"testing"

	"github.com/oryguard/oryguard/adapters/redis/redistest"
)

// Redis is a running redis-server on a free port of 127.0.0.1, with
// persistence off; Addr is its host:port.
type Redis = redistest.Server

// RedisBinaryEnv is the environment variable that overrides the
// redis-server binary (default: redis-server on PATH, from Debian's
// redis-server package).
const RedisBinaryEnv = redistest.BinaryEnv

// StartRedis starts a redis-server and waits until it answers PING. Stop
// ends it.
func StartRedis(ctx context.Context) (*Redis, error) {
	r, err := redistest.Start(ctx)
	if err != nil {
		return nil, fmt.Errorf("start redis: %w", err)
	}
	return r, nil
}

// StartRedisT starts a redis-server for a test and stops it when the test
// ends. It skips the test in -short mode.
func StartRedisT(t testing.TB) *Redis { return redistest.StartT(t) }
