package acd

import "time"

type timerKind uint8

const (
	timerRing timerKind = iota
	timerWrapUp
	timerOverflow
	timerMaxWait
	timerAnnounce
	timerCallback
	timerPriority
	timerRetry
)

// timer is a deadline. Timers are never removed early: each carries the token of what it
// belongs to and is ignored when it fires if that token has moved on.
type timer struct {
	ns   int64 // at.UnixNano(), for cheap ordering
	at   time.Time
	seq  uint64
	kind timerKind
	tok  uint64
	e    *entry
	a    *agent
	o    *offer
}

// timerHeap is a binary min-heap on (at, seq).
type timerHeap []timer

func (h timerHeap) less(i, j int) bool {
	if h[i].ns != h[j].ns {
		return h[i].ns < h[j].ns
	}
	return h[i].seq < h[j].seq
}

func (h *timerHeap) push(t timer) {
	*h = append(*h, t)
	s := *h
	for i := len(s) - 1; i > 0; {
		p := (i - 1) / 2
		if !s.less(i, p) {
			break
		}
		s[i], s[p] = s[p], s[i]
		i = p
	}
}

func (h *timerHeap) pop() timer {
	s := *h
	t := s[0]
	n := len(s) - 1
	s[0] = s[n]
	s[n] = timer{}
	s = s[:n]
	for i := 0; ; {
		l, m := 2*i+1, i
		if l < n && s.less(l, m) {
			m = l
		}
		if r := l + 1; r < n && s.less(r, m) {
			m = r
		}
		if m == i {
			break
		}
		s[i], s[m] = s[m], s[i]
		i = m
	}
	*h = s
	return t
}
