package journey

import (
	"sync"
	"time"

	"github.com/hotline-cc/hotline/call"
	"github.com/hotline-cc/hotline/ivr"
)

// Record is a finished call as its journey saw it.
type Record struct {
	ID      string
	Caller  call.Party
	Dialed  string
	Flow    string
	Outcome ivr.Outcome
	Path    []ivr.Event
	Queue   string
	Agent   string
	Queued  []string // what happened in queues: offers, misses, announcements, answer
	Media   MediaStats
	Start   time.Time
	End     time.Time
}

// MediaStats counts the caller leg's RTP and how well it arrived.
type MediaStats struct {
	FromCaller, ToCaller uint64        // packets
	LostFromCaller       uint64        // packets the caller sent that never arrived
	Jitter               time.Duration // interarrival jitter of the caller's audio
}

// Log keeps the last n finished calls in memory, in a ring: adding a call costs the same
// whatever n is.
type Log struct {
	mu   sync.Mutex
	n    int
	recs []Record // len(recs) < n until the ring is full
	next int      // where the next record goes once full
}

// NewLog keeps the last n calls (n >= 1).
func NewLog(n int) *Log { return &Log{n: max(n, 1)} }

// Add records a finished journey and how its flow ended.
func (l *Log) Add(j *Journey, r ivr.Result) {
	ch := j.Channel()
	rec := Record{Queued: j.Journal(),
		ID: ch.ID(), Caller: ch.Caller(), Dialed: ch.Dialed(), Flow: r.Flow, Outcome: r.Outcome,
		Path: r.Path, Queue: r.Queue, Agent: r.Agent, Start: r.Start, End: r.Start.Add(r.Duration),
	}
	if st := call.StatsOf(ch); st != nil {
		rec.Media = MediaStats{FromCaller: st.PacketsReceived, ToCaller: st.PacketsSent,
			LostFromCaller: st.PacketsLost, Jitter: st.Jitter}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.recs) < l.n {
		l.recs = append(l.recs, rec)
		return
	}
	l.recs[l.next] = rec
	l.next = (l.next + 1) % l.n
}

// List is the logged calls, newest last.
func (l *Log) List() []Record {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]Record, 0, len(l.recs))
	return append(append(out, l.recs[l.next:]...), l.recs[:l.next]...)
}
