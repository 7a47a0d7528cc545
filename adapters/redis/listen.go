package oryredis

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"time"

	"github.com/oryguard/oryguard/core"
	"github.com/redis/go-redis/v9"
)

// pingEvery is how long the invalidation channel may stay silent before the
// tier pings it; a ping without an answer for as long again counts as a
// lost channel (a network that drops packets without closing anything).
const pingEvery = time.Second

// retryEvery is the pause between attempts to get a lost channel back.
const retryEvery = 100 * time.Millisecond

// listen receives invalidations until Close. Every (re)subscription clears
// the guards' in-process entries: messages sent while the channel was down
// are lost, and this way nothing missed outlives the connection's return.
func (t *Tier) listen(ctx context.Context, ps *redis.PubSub) {
	defer close(t.done)
	_ = ps.Subscribe(ctx, t.channel) // a failure is retried by Receive
	defer func() { _ = ps.Close() }()
	lost, pinged := false, false
	for {
		msg, err := ps.ReceiveTimeout(ctx, pingEvery)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			if isTimeout(err) && !pinged {
				pinged = true
				_ = ps.Ping(ctx)
				continue
			}
			if !lost {
				lost = true
				t.log.Warn("oryredis: invalidation channel lost; in-process entries are cleared when it is back",
					slog.String("error", err.Error()))
			}
			if isTimeout(err) { // silent connection: start a new one
				_ = ps.Close()
				ps = t.rdb.Subscribe(ctx, t.channel)
			}
			pinged = false
			select {
			case <-ctx.Done():
				return
			case <-time.After(retryEvery):
			}
			continue
		}
		pinged = false
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind != "subscribe" {
				continue
			}
			t.dispatch(core.Invalidation{All: true})
			if lost {
				lost = false
				t.log.Info("oryredis: invalidation channel back; cleared in-process entries")
			}
		case *redis.Message:
			if inv, ok := parseMessage(m.Payload); ok {
				t.dispatch(inv)
			}
		}
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
