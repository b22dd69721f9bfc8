package dashboard

import (
	"encoding/json"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/hotline-cc/hotline/acd"
)

// The live stream: one subscription to the center, fanned out to every open event stream,
// plus periodic queue refreshes and the samples behind the wallboard chart.

// StreamEvent is one message of GET /api/v1/events (its SSE event name is Type).
type StreamEvent struct {
	Type  string     `json:"type"` // queue | agent | call
	ID    string     `json:"id"`
	At    time.Time  `json:"at"`
	Ended bool       `json:"ended,omitempty"` // a call that is over
	Queue *QueueView `json:"queue,omitempty"`
	Agent *AgentView `json:"agent,omitempty"`
	Call  *LiveCall  `json:"call,omitempty"`
}

// Snapshot is the first message of an event stream (SSE event "snapshot"): the whole state.
type Snapshot struct {
	At     time.Time   `json:"at"`
	Queues []QueueView `json:"queues"`
	Agents []AgentView `json:"agents"`
	Calls  []LiveCall  `json:"calls"`
}

// Sample is one point of the wallboard chart.
type Sample struct {
	At           time.Time `json:"at"`
	Queue        string    `json:"queue"`
	Waiting      int       `json:"waiting"`
	OldestWait   float64   `json:"oldest_wait_seconds"`
	ServiceLevel *float64  `json:"service_level"` // the wallboard window's (15 min)
}

const sampleKeep = 24 * time.Hour

type hub struct {
	s       *Server
	mu      sync.Mutex
	clients map[*client]struct{}
	samples map[string][]Sample
	stop    chan struct{}
	done    chan struct{}
	once    sync.Once
	// Queue figures touched since the last queue publish (nil: none; all: every queue),
	// published at most every queueEvery: at a thousand calls a second each call's events
	// would otherwise re-read and re-encode its queue several times. Owned by run.
	touched map[string]bool
	all     bool
}

// queueEvery is the most often a queue's figures are sent on the stream. Calls and agents
// are sent as they change; a queue's waiting count a tenth of a second late is not.
const queueEvery = 100 * time.Millisecond

type client struct {
	ch    chan []byte // encoded SSE messages
	agent string      // "" = every event; else only this agent's (agentSees)
	gone  chan struct{}
	// the calls this agent client was shown (ringing it or connected to it), so it also
	// learns when they end or move on; guarded by hub.mu
	calls map[string]bool
}

func newHub(s *Server, sampleEvery, refreshEvery time.Duration) *hub {
	h := &hub{s: s, clients: map[*client]struct{}{}, samples: map[string][]Sample{}, stop: make(chan struct{}), done: make(chan struct{})}
	h.takeSamples() // the first sample is there before the API answers
	go h.run(sampleEvery, refreshEvery)
	return h
}

func (h *hub) close() {
	h.once.Do(func() {
		close(h.stop)
		<-h.done
		h.mu.Lock()
		for c := range h.clients {
			delete(h.clients, c)
			close(c.gone)
		}
		h.mu.Unlock()
	})
}

func (h *hub) run(sampleEvery, refreshEvery time.Duration) {
	defer close(h.done)
	events, cancel := h.s.live.Subscribe()
	defer cancel()
	sample := time.NewTicker(sampleEvery)
	defer sample.Stop()
	refresh := time.NewTicker(refreshEvery)
	defer refresh.Stop()
	flush := time.NewTimer(queueEvery)
	flush.Stop()
	flushing := false
	for {
		select {
		case <-h.stop:
			return
		case <-flush.C:
			flushing = false
			h.flushQueues()
		case ev, ok := <-events:
			if !ok {
				events = nil // the center closed it; keep serving refreshes
				continue
			}
			batch := []Event{ev}
		drain: // take what else is pending, so a burst costs one read of the queues
			for len(batch) < 256 {
				select {
				case ev, ok := <-events:
					if !ok {
						events = nil
						break drain
					}
					batch = append(batch, ev)
				default:
					break drain
				}
			}
			h.publish(batch)
			if !flushing && (h.all || len(h.touched) > 0) {
				flushing = true
				flush.Reset(queueEvery)
			}
		case <-refresh.C:
			h.mu.Lock()
			n := len(h.clients)
			h.mu.Unlock()
			if n > 0 {
				h.publishQueues(nil)
			}
		case <-sample.C:
			h.takeSamples()
		}
	}
}

// watched says whether any event stream is open. With none, the center's events are dropped
// unread: a stream that opens later starts from a snapshot.
func (h *hub) watched() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.clients) > 0
}

// publish turns the center's events into stream messages, and marks the queues they touch for
// the next flushQueues.
func (h *hub) publish(batch []Event) {
	if !h.watched() {
		return
	}
	var calls []LiveCall
	var agents []acd.AgentStatus
	touched := map[string]bool{}
	allQueues := false
	for _, ev := range batch {
		at := ev.At
		if at.IsZero() {
			at = h.s.now()
		}
		switch ev.Type {
		case EventQueue:
			touched[ev.ID] = true
		case EventAgent:
			var a *acd.AgentStatus
			switch d := ev.Data.(type) {
			case acd.AgentStatus:
				a = &d
			case *acd.AgentStatus:
				a = d
			default:
				if agents == nil {
					agents = h.s.live.Agents()
				}
				if i := slices.IndexFunc(agents, func(x acd.AgentStatus) bool { return x.ID == ev.ID }); i >= 0 {
					a = &agents[i]
				}
			}
			if a == nil {
				continue
			}
			v := agentView(*a)
			h.send(StreamEvent{Type: string(EventAgent), ID: a.ID, At: at, Agent: &v}, a.ID)
			for _, q := range h.s.members[a.ID] {
				touched[q] = true
			}
			if len(h.s.members[a.ID]) == 0 {
				allQueues = true
			}
		case EventCall:
			var c *LiveCall
			switch d := ev.Data.(type) {
			case LiveCall:
				c = &d
			case *LiveCall:
				c = d
			default:
				if !ev.Ended {
					if calls == nil {
						calls = h.s.live.Calls()
					}
					if i := slices.IndexFunc(calls, func(x LiveCall) bool { return x.ID == ev.ID }); i >= 0 {
						c = &calls[i]
					}
				}
			}
			if ev.Ended || c == nil {
				h.send(StreamEvent{Type: string(EventCall), ID: ev.ID, At: at, Ended: true}, "")
				h.forget(ev.ID)
				allQueues = true // the queue it left is not known
				continue
			}
			h.send(StreamEvent{Type: string(EventCall), ID: c.ID, At: at, Call: c}, "")
			if c.Queue != "" {
				touched[c.Queue] = true
			} else {
				allQueues = true
			}
		}
	}
	if allQueues {
		h.all = true
	}
	if h.touched == nil {
		h.touched = touched
		return
	}
	for q := range touched {
		h.touched[q] = true
	}
}

// flushQueues publishes the queues publish marked since the last flush.
func (h *hub) flushQueues() {
	only := h.touched
	if h.all {
		only = nil
	}
	if h.all || len(h.touched) > 0 {
		h.publishQueues(only)
	}
	h.touched, h.all = nil, false
}

// publishQueues sends the current figures of the given queues (nil: all).
func (h *hub) publishQueues(only map[string]bool) {
	for _, q := range h.s.live.Queues() {
		if only != nil && !only[q.Queue] {
			continue
		}
		v := queueView(q)
		at := q.At
		if at.IsZero() {
			at = h.s.now()
		}
		h.send(StreamEvent{Type: string(EventQueue), ID: q.Queue, At: at, Queue: &v}, "")
	}
}

// send delivers a message to every client that may see it (agentSees). A client too slow to
// keep up is dropped (its browser reconnects and gets a fresh snapshot).
func (h *hub) send(ev StreamEvent, agent string) {
	b, err := json.Marshal(ev)
	if err != nil {
		return
	}
	msg, agentMsg := sseMessage(ev.Type, b), []byte(nil)
	if ev.Call != nil && ev.Call.Monitor != nil && h.s.hideMonitor { // agents do not see who monitors them
		hidden := *ev.Call
		hidden.Monitor = nil
		ev.Call = &hidden
		b, _ := json.Marshal(ev)
		agentMsg = sseMessage(ev.Type, b)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for c := range h.clients {
		msg := msg
		if c.agent != "" {
			if !h.agentSees(c, ev, agent) {
				continue
			}
			if agentMsg != nil {
				msg = agentMsg
			}
		}
		select {
		case c.ch <- msg:
		default:
			delete(h.clients, c)
			close(c.gone)
		}
	}
}

// agentSees says whether an agent's client gets ev: its own agent's changes, the queues it is
// a member of, and the calls offered to it or connected with it (until they end or move to
// someone else, which it is told). Called with h.mu held.
func (h *hub) agentSees(c *client, ev StreamEvent, agent string) bool {
	switch ev.Type {
	case string(EventAgent):
		return c.agent == agent
	case string(EventQueue):
		return slices.Contains(h.s.members[c.agent], ev.ID)
	case string(EventCall):
		if ev.Call != nil && ev.Call.Agent == c.agent {
			c.calls[ev.ID] = true
			return true
		}
		if c.calls[ev.ID] {
			if ev.Call != nil { // rung elsewhere now, or back in line: tell it once
				delete(c.calls, ev.ID)
			}
			return true
		}
	}
	return false
}

// mark records the calls an agent client's snapshot showed it.
func (h *hub) mark(c *client, calls []LiveCall) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, lc := range calls {
		c.calls[lc.ID] = true
	}
}

// forget drops an ended call from the agent clients' sets.
func (h *hub) forget(id string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for c := range h.clients {
		delete(c.calls, id)
	}
}

func sseMessage(event string, data []byte) []byte {
	out := make([]byte, 0, len(data)+len(event)+16)
	out = append(out, "event: "...)
	out = append(out, event...)
	out = append(out, "\ndata: "...)
	out = append(out, data...)
	return append(out, "\n\n"...)
}

func (h *hub) subscribe(agent string) *client {
	c := &client{ch: make(chan []byte, 512), agent: agent, gone: make(chan struct{}), calls: map[string]bool{}}
	h.mu.Lock()
	defer h.mu.Unlock()
	select {
	case <-h.stop:
		close(c.gone)
	default:
		h.clients[c] = struct{}{}
	}
	return c
}

func (h *hub) unsubscribe(c *client) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.clients[c]; ok {
		delete(h.clients, c)
		close(c.gone)
	}
}

func (h *hub) takeSamples() {
	now := h.s.now()
	qs := h.s.live.Queues()
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, q := range qs {
		v := queueView(q)
		list := append(h.samples[q.Queue], Sample{At: now, Queue: q.Queue, Waiting: q.Waiting, OldestWait: v.OldestWait, ServiceLevel: v.ServiceLevel})
		cut := 0
		for cut < len(list) && now.Sub(list[cut].At) > sampleKeep {
			cut++
		}
		h.samples[q.Queue] = list[cut:]
	}
}

func (h *hub) samplesOf(queue string, since time.Time) []Sample {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []Sample
	for name, list := range h.samples {
		if queue != "" && name != queue {
			continue
		}
		for _, s := range list {
			if !s.At.Before(since) {
				out = append(out, s)
			}
		}
	}
	slices.SortStableFunc(out, func(a, b Sample) int {
		if c := a.At.Compare(b.At); c != 0 {
			return c
		}
		if a.Queue < b.Queue {
			return -1
		}
		if a.Queue > b.Queue {
			return 1
		}
		return 0
	})
	return out
}

// snapshot is the state a new stream starts from, as a principal may see it.
func (s *Server) snapshot(p *principal) Snapshot {
	snap := Snapshot{At: s.now(), Queues: []QueueView{}, Agents: []AgentView{}, Calls: []LiveCall{}}
	for _, a := range s.live.Agents() {
		if p.Role == RoleAgent && a.ID != p.Agent {
			continue
		}
		snap.Agents = append(snap.Agents, agentView(a))
	}
	for _, q := range s.live.Queues() {
		if p.Role == RoleAgent && !slices.Contains(s.members[p.Agent], q.Queue) {
			continue
		}
		snap.Queues = append(snap.Queues, queueView(q))
	}
	for _, c := range s.live.Calls() {
		if p.Role == RoleAgent && c.Agent != p.Agent {
			continue
		}
		snap.Calls = append(snap.Calls, s.callFor(p, c))
	}
	return snap
}

// handleEvents is GET /api/v1/events: Server-Sent Events. The first message (event
// "snapshot") is the whole state; then "queue", "agent" and "call" events as things change;
// a comment every 15 s keeps proxies from closing the stream.
func (s *Server) handleEvents(w http.ResponseWriter, r *http.Request, p *principal) error {
	fl, ok := w.(http.Flusher)
	if !ok {
		return s.errorf("streaming unsupported")
	}
	agent := ""
	if p.Role == RoleAgent {
		agent = p.Agent
	}
	c := s.hub.subscribe(agent)
	defer s.hub.unsubscribe(c)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	snap := s.snapshot(p)
	if agent != "" {
		s.hub.mark(c, snap.Calls)
	}
	b, _ := json.Marshal(snap)
	w.Write([]byte("retry: 1000\n\n"))
	w.Write(sseMessage("snapshot", b))
	fl.Flush()
	ping := time.NewTicker(15 * time.Second)
	defer ping.Stop()
	for {
		select {
		case <-r.Context().Done():
			return nil
		case <-c.gone:
			return nil
		case <-ping.C:
			w.Write([]byte(": ping\n\n"))
			fl.Flush()
		case msg := <-c.ch:
			w.Write(msg)
		more:
			for {
				select {
				case msg := <-c.ch:
					w.Write(msg)
				default:
					break more
				}
			}
			fl.Flush()
		}
	}
}
