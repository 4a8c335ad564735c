package proxy

import (
	"container/list"
	"sync"
	"time"
)

// affinity pins conversations to accounts: a bounded LRU map with an idle
// TTL, per container. Keeping a conversation on one account keeps the
// upstream's prompt cache warm.
type affinity struct {
	ttl  time.Duration
	size int

	mu sync.Mutex
	m  map[string]*list.Element
	l  *list.List // front = most recently used
}

type affinityEntry struct {
	session string
	account string
	used    time.Time
}

func newAffinity(ttl time.Duration, size int) *affinity {
	return &affinity{ttl: ttl, size: size, m: map[string]*list.Element{}, l: list.New()}
}

// get returns the session's account, or "" when unknown or idle too long.
func (a *affinity) get(session string, now time.Time) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	el := a.m[session]
	if el == nil {
		return ""
	}
	e := el.Value.(*affinityEntry)
	if now.Sub(e.used) > a.ttl {
		a.l.Remove(el)
		delete(a.m, session)
		return ""
	}
	return e.account
}

// set pins session to account, evicting the least recently used entry when
// full.
func (a *affinity) set(session, account string, now time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if el := a.m[session]; el != nil {
		e := el.Value.(*affinityEntry)
		e.account, e.used = account, now
		a.l.MoveToFront(el)
		return
	}
	for a.l.Len() >= a.size {
		old := a.l.Back()
		a.l.Remove(old)
		delete(a.m, old.Value.(*affinityEntry).session)
	}
	a.m[session] = a.l.PushFront(&affinityEntry{session: session, account: account, used: now})
}
