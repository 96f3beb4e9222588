package remote

import (
	"context"
	"fmt"
	"sync/atomic"

	"simplecloud/sync/proto"
)

// Feed is a subscription to the server's change feed.
type Feed struct {
	s     *stream
	epoch uint64
	seq   uint64
	ended atomic.Bool // the final answer came: nothing to cancel
}

// FeedEvent is what the feed says next: changed entries, or that events
// were lost and the folder must be listed again (Rescan).
type FeedEvent struct {
	Changes []proto.Entry
	Rescan  bool
	Reason  string
}

// Subscribe opens the change feed of the server folder p. Subscribe before
// listing, then apply events after the listing: nothing is lost between.
func (c *Client) Subscribe(ctx context.Context, p string) (*Feed, error) {
	s, err := c.open(ctx, &proto.Subscribe{Path: p, Format: c.format}, false)
	if err != nil {
		return nil, fmt.Errorf("subscribe to %q: %w", p, err)
	}
	return &Feed{s: s, epoch: c.w.Epoch}, nil
}

// Next waits for the next event. A gap in the sequence or another epoch
// than the Welcome's is reported as a Rescan; the feed's end (the server
// refused it, or the connection is gone) is an error.
func (f *Feed) Next(ctx context.Context) (FeedEvent, error) {
	select {
	case fr, ok := <-f.s.in:
		if !ok {
			f.ended.Store(true)
			return FeedEvent{}, fmt.Errorf("change feed: %w", f.s.c.err)
		}
		if fr.Final {
			f.ended.Store(true)
		}
		switch m := fr.Msg.(type) {
		case *proto.Changes:
			f.seq++
			if m.Epoch != f.epoch || m.Seq != f.seq {
				f.seq = m.Seq
				return FeedEvent{Changes: m.Entries, Rescan: true, Reason: "change feed out of sequence"}, nil
			}
			return FeedEvent{Changes: m.Entries}, nil
		case *proto.Rescan:
			return FeedEvent{Rescan: true, Reason: m.Reason}, nil
		case *proto.Error:
			return FeedEvent{}, fmt.Errorf("change feed: %w", m)
		default:
			return FeedEvent{}, fmt.Errorf("change feed: unexpected %T", m)
		}
	case <-ctx.Done():
		return FeedEvent{}, ctx.Err()
	}
}

// Close cancels the subscription. It does not wait for the server's final
// answer (a goroutine may be in Next): that answer is dropped when it comes,
// and ids are not reused for 2^32 requests.
func (f *Feed) Close() error {
	if !f.ended.Load() {
		f.s.send(true, &proto.Cancel{})
	}
	f.s.close()
	return nil
}
