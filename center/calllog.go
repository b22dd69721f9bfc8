package center

import (
	"sync"
	"time"

	"github.com/hotline-cc/hotline/call"
	"github.com/hotline-cc/hotline/ivr"
	"github.com/hotline-cc/hotline/sip/media"
)

// CallRecord is a finished call as the flow saw it.
type CallRecord struct {
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

// callLog keeps the last n finished calls in memory.
type callLog struct {
	mu   sync.Mutex
	n    int
	recs []CallRecord
}

func newCallLog(n int) *callLog { return &callLog{n: n} }

// mediaLeg is a channel whose RTP hotline terminates (the native SIP driver's): its session
// has the leg's packet counts and audio quality.
type mediaLeg interface{ Media() *media.Session }

// MediaStats counts the caller leg's RTP and how well it arrived.
type MediaStats struct {
	FromCaller, ToCaller uint64        // packets
	LostFromCaller       uint64        // packets the caller sent that never arrived
	Jitter               time.Duration // interarrival jitter of the caller's audio
}

func (l *callLog) add(r ivr.Result, ch call.Channel, journal []string) {
	rec := CallRecord{Queued: journal,
		ID: ch.ID(), Caller: ch.Caller(), Dialed: ch.Dialed(), Flow: r.Flow, Outcome: r.Outcome,
		Path: r.Path, Queue: r.Queue, Agent: r.Agent, Start: r.Start, End: r.Start.Add(r.Duration),
	}
	if m, ok := ch.(mediaLeg); ok {
		st := m.Media().Stats()
		rec.Media = MediaStats{FromCaller: st.PacketsReceived, ToCaller: st.PacketsSent,
			LostFromCaller: st.PacketsLost, Jitter: st.Jitter}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.recs = append(l.recs, rec)
	if len(l.recs) > l.n {
		l.recs = append([]CallRecord(nil), l.recs[len(l.recs)-l.n:]...)
	}
}

func (l *callLog) list() []CallRecord {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]CallRecord(nil), l.recs...)
}
