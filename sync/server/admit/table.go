package admit

import (
	"container/list"
	"math"
	"net/netip"
	"time"
)

// record is what the policy remembers about one source: its penalty and
// its failed logins.
type record struct {
	key netip.Prefix

	// The penalty: the source is refused until penaltyUntil once active,
	// which it becomes when more than Min is outstanding.
	penaltyUntil time.Time
	active       bool
	why          Kind // the last penalty's kind

	// The back-off: failed logins per user (a leaky bucket for the source
	// as a whole), and how long the source is refused for them.
	fails failures
	until time.Time
}

// idle reports whether r holds nothing that still matters at now, with
// one failure forgiven per decay.
func (r *record) idle(now time.Time, decay time.Duration) bool {
	r.fails.drain(now, decay)
	return !now.Before(r.penaltyUntil) && !now.Before(r.until) && r.fails.total() == 0
}

// failures counts failed logins from one source per user name (by hash).
// The whole drains at one failure per decay period, each user's share in
// proportion, so that spreading guesses over many names gains nothing.
type failures struct {
	at    time.Time   // when the counts were last drained
	users []userCount // at most the policy's MaxUsers
	other float64     // the failures of names beyond those
}

type userCount struct {
	user uint64
	n    float64
}

func (f *failures) total() float64 {
	t := f.other
	for _, u := range f.users {
		t += u.n
	}
	return t
}

// count is the total as a whole number of failures: a failure partly
// drained still counts.
func (f *failures) count() int {
	return int(math.Ceil(f.total() - 1e-9))
}

// drain forgives one failure per period since the last drain.
func (f *failures) drain(now time.Time, period time.Duration) {
	elapsed := now.Sub(f.at)
	if f.at.IsZero() || elapsed < 0 {
		elapsed = 0
	}
	f.at = now
	t := f.total()
	if t == 0 || elapsed == 0 || period <= 0 {
		return
	}
	forgive := float64(elapsed) / float64(period)
	if forgive >= t {
		f.users, f.other = f.users[:0], 0
		return
	}
	scale := (t - forgive) / t
	f.other *= scale
	for i := range f.users {
		f.users[i].n *= scale
	}
}

// add counts one failure for user, pooled with the others once max names
// are tracked.
func (f *failures) add(user uint64, max int) {
	for i := range f.users {
		if f.users[i].user == user {
			f.users[i].n++
			return
		}
	}
	// A name whose count drained away frees its place.
	for i := range f.users {
		if f.users[i].n < 1e-9 {
			f.users[i] = userCount{user, 1}
			return
		}
	}
	if len(f.users) < max {
		f.users = append(f.users, userCount{user, 1})
		return
	}
	f.other++
}

// clear forgets user's failures (not the pooled ones).
func (f *failures) clear(user uint64) {
	for i := range f.users {
		if f.users[i].user == user {
			f.users = append(f.users[:i], f.users[i+1:]...)
			return
		}
	}
}

// table holds the records of at most max sources, evicting the least
// recently used one to make room. Every operation is O(1).
type table struct {
	max   int
	order *list.List // of *record, most recently used first
	byKey map[netip.Prefix]*list.Element
}

func newTable(max int) *table {
	return &table{max: max, order: list.New(), byKey: map[netip.Prefix]*list.Element{}}
}

// get returns key's record, marking it used, or nil.
func (t *table) get(key netip.Prefix) *record {
	e := t.byKey[key]
	if e == nil {
		return nil
	}
	t.order.MoveToFront(e)
	return e.Value.(*record)
}

// make returns key's record, made when missing; a new one may evict the
// least recently used.
func (t *table) make(key netip.Prefix) *record {
	if r := t.get(key); r != nil {
		return r
	}
	if t.order.Len() >= t.max {
		old := t.order.Back()
		t.order.Remove(old)
		delete(t.byKey, old.Value.(*record).key)
	}
	r := &record{key: key}
	t.byKey[key] = t.order.PushFront(r)
	return r
}

// remove forgets key.
func (t *table) remove(key netip.Prefix) {
	if e := t.byKey[key]; e != nil {
		t.order.Remove(e)
		delete(t.byKey, key)
	}
}

func (t *table) len() int { return t.order.Len() }
