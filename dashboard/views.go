package dashboard

import (
	"math"
	"sort"
	"time"

	"github.com/hotline-cc/hotline/acd"
	"github.com/hotline-cc/hotline/customers"
)

// WallboardWindow is the rolling window whose service level the wallboard shows: the same
// value as hotline_queue_service_level_ratio{window="15m0s",variant="default"} in /metrics.
const WallboardWindow = 15 * time.Minute

func num(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

func secs(d time.Duration) float64 { return d.Seconds() }

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// KPIView is acd.KPIs in JSON: ratios in [0, 1], times in seconds, undefined null.
type KPIView struct {
	ServiceLevel             *float64 `json:"service_level"`
	ServiceLevelAnswered     *float64 `json:"service_level_answered"`
	ServiceLevelWithAbandons *float64 `json:"service_level_with_abandons"`
	ServiceLevelLeft         *float64 `json:"service_level_left"`
	ASA                      *float64 `json:"asa_seconds"`
	AHT                      *float64 `json:"aht_seconds"`
	AbandonRate              *float64 `json:"abandon_rate"`
	ShortAbandonRate         *float64 `json:"short_abandon_rate"`
	Occupancy                *float64 `json:"occupancy"`
}

func kpiView(k acd.KPIs) KPIView {
	return KPIView{num(k.ServiceLevel), num(k.ServiceLevelAnswered), num(k.ServiceLevelWithAbandons), num(k.ServiceLevelLeft),
		num(k.ASA), num(k.AHT), num(k.AbandonRate), num(k.ShortAbandonRate), num(k.Occupancy)}
}

// CountersView is acd.Counters in JSON, times in seconds.
type CountersView struct {
	Entered             int64   `json:"entered"`
	Offered             int64   `json:"offered"`
	Answered            int64   `json:"answered"`
	AnsweredInTarget    int64   `json:"answered_in_target"`
	Abandoned           int64   `json:"abandoned"`
	ShortAbandoned      int64   `json:"short_abandoned"`
	AbandonedInTarget   int64   `json:"abandoned_in_target"`
	TimedOut            int64   `json:"timed_out"`
	OverflowedOut       int64   `json:"overflowed_out"`
	ConvertedToCallback int64   `json:"converted_to_callback"` // acd.Counters.ConvertedToCallback
	LeftInTarget        int64   `json:"left_in_target"`
	AnsweredWait        float64 `json:"answered_wait_seconds"`
	CallbacksEntered    int64   `json:"callbacks_entered"`
	CallbacksAnswered   int64   `json:"callbacks_answered"`
	CallbacksCancelled  int64   `json:"callbacks_cancelled"`
	CallbackWait        float64 `json:"callback_wait_seconds"`
	Handled             int64   `json:"handled"`
	TalkTime            float64 `json:"talk_seconds"`
	HoldTime            float64 `json:"hold_seconds"` // part of talk_seconds
	Transferred         int64   `json:"transferred"`
	WrapUpTime          float64 `json:"wrap_up_seconds"`
	AgentBusyTime       float64 `json:"agent_busy_seconds"`
	AgentIdleTime       float64 `json:"agent_idle_seconds"`
}

func countersView(c acd.Counters) CountersView {
	return CountersView{c.Entered, c.Offered, c.Answered, c.AnsweredInTarget, c.Abandoned, c.ShortAbandoned, c.AbandonedInTarget,
		c.TimedOut, c.OverflowedOut, c.ConvertedToCallback, c.LeftInTarget, secs(c.AnsweredWait), c.CallbacksEntered,
		c.CallbacksAnswered, c.CallbacksCancelled, secs(c.CallbackWait), c.Handled, secs(c.TalkTime), secs(c.HoldTime), c.Transferred, secs(c.WrapUpTime),
		secs(c.AgentBusyTime), secs(c.AgentIdleTime)}
}

// AgentCountsView counts a queue's member agents by state.
type AgentCountsView struct {
	LoggedOut int `json:"logged_out"`
	Available int `json:"available"`
	Reserved  int `json:"reserved"`
	OnCall    int `json:"on_call"`
	WrapUp    int `json:"wrap_up"`
	Paused    int `json:"paused"`
}

// WindowView is a queue's figures over one rolling window.
type WindowView struct {
	Window        string       `json:"window"` // as in /metrics: 15m0s, 1h0m0s, 24h0m0s
	WindowSeconds float64      `json:"window_seconds"`
	Counters      CountersView `json:"counters"`
	KPIs          KPIView      `json:"kpis"`
}

// QueueView is a queue on the wallboard and in the API.
type QueueView struct {
	Queue            string          `json:"queue"`
	At               time.Time       `json:"at"`
	Waiting          int             `json:"waiting"` // callbacks and ringing ones included
	WaitingCallbacks int             `json:"waiting_callbacks"`
	Ringing          int             `json:"ringing"`
	OldestWait       float64         `json:"oldest_wait_seconds"`
	Agents           AgentCountsView `json:"agents"`
	// ServiceLevel and AbandonRate are those of ServiceLevelWindow (the wallboard's window,
	// 15 minutes): acd.QueueStats.Windows[15m].KPIs.
	ServiceLevelWindow string       `json:"service_level_window"`
	ServiceLevel       *float64     `json:"service_level"`
	AbandonRate        *float64     `json:"abandon_rate"`
	HandleTimeEstimate float64      `json:"handle_time_estimate_seconds"`
	Windows            []WindowView `json:"windows"`
	Totals             CountersView `json:"totals"`
	TotalKPIs          KPIView      `json:"total_kpis"`
}

func queueView(s acd.QueueStats) QueueView {
	v := QueueView{
		Queue: s.Queue, At: s.At, Waiting: s.Waiting, WaitingCallbacks: s.WaitingCallbacks, Ringing: s.Ringing,
		OldestWait: secs(s.OldestWait), HandleTimeEstimate: secs(s.HandleTimeEstimate),
		Agents: AgentCountsView{s.Agents.LoggedOut, s.Agents.Available, s.Agents.Reserved, s.Agents.OnCall, s.Agents.WrapUp, s.Agents.Paused},
		Totals: countersView(s.Totals), TotalKPIs: kpiView(s.TotalKPIs), Windows: []WindowView{},
	}
	wall := s.TotalKPIs
	v.ServiceLevelWindow = "total"
	for i, w := range s.Windows {
		v.Windows = append(v.Windows, WindowView{Window: w.Window.String(), WindowSeconds: secs(w.Window), Counters: countersView(w.Counters), KPIs: kpiView(w.KPIs)})
		if i == 0 || w.Window == WallboardWindow { // the 15-minute window, or the first there is
			if v.ServiceLevelWindow != WallboardWindow.String() {
				wall, v.ServiceLevelWindow = w.KPIs, w.Window.String()
			}
		}
	}
	v.ServiceLevel, v.AbandonRate = num(wall.ServiceLevel), num(wall.AbandonRate)
	return v
}

// MissesView counts an agent's missed offers.
type MissesView struct {
	NoAnswer    int64 `json:"no_answer"`
	Busy        int64 `json:"busy"`
	Rejected    int64 `json:"rejected"`
	Unreachable int64 `json:"unreachable"`
}

// AgentView is an agent in the API.
type AgentView struct {
	ID                string             `json:"id"`
	Name              string             `json:"name"`
	State             string             `json:"state"` // logged-out, available, reserved, on-call, wrap-up, paused
	Since             time.Time          `json:"since"`
	PauseReason       string             `json:"pause_reason,omitempty"`
	PendingPause      string             `json:"pending_pause,omitempty"`
	PendingLogout     bool               `json:"pending_logout,omitempty"`
	Queues            []string           `json:"queues"` // logged into
	CallID            string             `json:"call_id,omitempty"`
	CallQueue         string             `json:"call_queue,omitempty"`
	WrapUpUntil       *time.Time         `json:"wrap_up_until,omitempty"`
	CallsHandled      int64              `json:"calls_handled"`
	Transfers         int64              `json:"transfers"`
	Misses            MissesView         `json:"misses"`
	ConsecutiveMisses int                `json:"consecutive_misses"`
	TimeInState       map[string]float64 `json:"time_in_state_seconds"` // by state, current interval included
	TimeInPause       map[string]float64 `json:"time_in_pause_seconds"` // by reason
}

func agentView(a acd.AgentStatus) AgentView {
	v := AgentView{ID: a.ID, Name: a.Name, State: a.State.String(), Since: a.Since, PauseReason: a.PauseReason,
		PendingPause: a.PendingPause, PendingLogout: a.PendingLogout, Queues: a.Queues, CallID: a.CallID, CallQueue: a.CallQueue,
		WrapUpUntil: optTime(a.WrapUpUntil), CallsHandled: a.CallsHandled, Transfers: a.Transfers, ConsecutiveMisses: a.ConsecutiveMisses,
		Misses:      MissesView{a.Misses.NoAnswer, a.Misses.Busy, a.Misses.Rejected, a.Misses.Unreachable},
		TimeInState: map[string]float64{}, TimeInPause: map[string]float64{}}
	if v.Queues == nil {
		v.Queues = []string{}
	}
	for st, d := range a.TimeInState {
		v.TimeInState[st.String()] = secs(d)
	}
	for r, d := range a.TimeInPause {
		v.TimeInPause[r] = secs(d)
	}
	return v
}

// IdentityView is one of a customer's identities.
type IdentityView struct {
	Kind  string `json:"kind"` // phone, email, account, crm, chat, sip
	Value string `json:"value"`
}

// CustomerView is a customer record.
type CustomerView struct {
	ID         string         `json:"id"`
	Name       string         `json:"name"`
	Language   string         `json:"language,omitempty"`
	Tier       string         `json:"tier,omitempty"`
	VIP        bool           `json:"vip"`
	Anonymous  bool           `json:"anonymous"`
	Identities []IdentityView `json:"identities"`
	MergedFrom []string       `json:"merged_from,omitempty"`
	ErasedAt   *time.Time     `json:"erased_at,omitempty"`
	CreatedAt  time.Time      `json:"created_at"`
	UpdatedAt  time.Time      `json:"updated_at"`
}

func customerView(c customers.Customer) CustomerView {
	v := CustomerView{ID: c.ID, Name: c.Name, Language: c.Language, Tier: c.Tier, VIP: c.VIP, Anonymous: c.Anonymous,
		MergedFrom: c.MergedFrom, ErasedAt: optTime(c.ErasedAt), CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt, Identities: []IdentityView{}}
	for _, id := range c.Identities {
		v.Identities = append(v.Identities, IdentityView{string(id.Kind), id.Value})
	}
	return v
}

// ContactView is one contact.
type ContactView struct {
	ID          string            `json:"id"`
	CustomerID  string            `json:"customer_id"`
	CallID      string            `json:"call_id,omitempty"`
	Channel     string            `json:"channel"`
	Direction   string            `json:"direction"`
	Address     string            `json:"address"`
	Dialed      string            `json:"dialed,omitempty"`
	Flow        string            `json:"flow,omitempty"`
	Queue       string            `json:"queue,omitempty"`
	Agent       string            `json:"agent,omitempty"`
	Language    string            `json:"language,omitempty"`
	CallbackID  string            `json:"callback_id,omitempty"`
	StartedAt   time.Time         `json:"started_at"`
	QueuedAt    *time.Time        `json:"queued_at,omitempty"`
	AnsweredAt  *time.Time        `json:"answered_at,omitempty"`
	EndedAt     *time.Time        `json:"ended_at,omitempty"`
	WaitSeconds float64           `json:"wait_seconds"`
	TalkSeconds float64           `json:"talk_seconds"`
	Outcome     string            `json:"outcome"`
	Missed      bool              `json:"missed"`
	Events      []customers.Event `json:"events"`
}

func contactView(c customers.Contact) ContactView {
	v := ContactView{ID: c.ID, CustomerID: c.CustomerID, CallID: c.CallID, Channel: string(c.Channel), Direction: string(c.Direction),
		Address: c.Address, Dialed: c.Dialed, Flow: c.Flow, Queue: c.Queue, Agent: c.Agent, Language: c.Language, CallbackID: c.CallbackID,
		StartedAt: c.StartedAt, QueuedAt: optTime(c.QueuedAt), AnsweredAt: optTime(c.AnsweredAt), EndedAt: optTime(c.EndedAt),
		WaitSeconds: secs(c.Wait), TalkSeconds: secs(c.Talk), Outcome: string(c.Outcome), Missed: c.Outcome.Missed(), Events: c.Events}
	if v.Events == nil {
		v.Events = []customers.Event{}
	}
	return v
}

// RecordingView is what is known of a recording; URL streams it and DownloadURL downloads it
// (while the file exists).
type RecordingView struct {
	ID              string     `json:"id"`
	Kind            string     `json:"kind"` // voicemail | call
	CustomerID      string     `json:"customer_id,omitempty"`
	ContactID       string     `json:"contact_id,omitempty"`
	SHA256          string     `json:"sha256"`
	Size            int64      `json:"size"`
	DurationSeconds float64    `json:"duration_seconds"`
	CreatedAt       time.Time  `json:"created_at"`
	DeletedAt       *time.Time `json:"deleted_at,omitempty"`
	DeletedWhy      string     `json:"deleted_why,omitempty"`
	URL             string     `json:"url,omitempty"`
	DownloadURL     string     `json:"download_url,omitempty"`
	// Of a conversation recording (kind call):
	CallID      string     `json:"call_id,omitempty"`
	Queue       string     `json:"queue,omitempty"`
	Agents      []string   `json:"agents,omitempty"`
	Paused      []SpanView `json:"paused,omitempty"`     // silence while the recording was paused
	Incomplete  bool       `json:"incomplete,omitempty"` // some audio is missing (a crash, a write error)
	RetainUntil *time.Time `json:"retain_until,omitempty"`
}

// SpanView is a stretch of a recording, in milliseconds from its start.
type SpanView struct {
	StartMS int64 `json:"start_ms"`
	EndMS   int64 `json:"end_ms"`
}

func recordingView(r *customers.RecordingInfo) *RecordingView {
	if r == nil {
		return nil
	}
	v := &RecordingView{ID: r.ID, Kind: r.Kind, CustomerID: r.CustomerID, ContactID: r.ContactID, SHA256: r.SHA256, Size: r.Size,
		DurationSeconds: secs(r.Duration), CreatedAt: r.CreatedAt, DeletedAt: optTime(r.DeletedAt), DeletedWhy: r.DeletedWhy,
		CallID: r.CallID, Queue: r.Queue, Agents: r.Agents, Incomplete: r.Incomplete, RetainUntil: optTime(r.RetainUntil)}
	for _, sp := range r.Paused {
		v.Paused = append(v.Paused, SpanView{sp.Start.Milliseconds(), sp.End.Milliseconds()})
	}
	if r.DeletedAt.IsZero() {
		v.URL = "/api/v1/recordings/" + r.ID
		v.DownloadURL = v.URL + "?download=1"
	}
	return v
}

// NoteView is a note on a ticket.
type NoteView struct {
	ID        string    `json:"id"`
	Author    string    `json:"author"`
	Body      string    `json:"body"`
	CreatedAt time.Time `json:"created_at"`
}

// TicketView is a ticket.
type TicketView struct {
	ID         string         `json:"id"`
	Number     string         `json:"number"`
	CustomerID string         `json:"customer_id,omitempty"`
	ContactID  string         `json:"contact_id,omitempty"`
	CallbackID string         `json:"callback_id,omitempty"`
	Kind       string         `json:"kind"`
	Queue      string         `json:"queue,omitempty"`
	Subject    string         `json:"subject"`
	Status     string         `json:"status"`
	Priority   string         `json:"priority"`
	Assignee   string         `json:"assignee"`
	Recording  *RecordingView `json:"recording,omitempty"`
	Notes      []NoteView     `json:"notes,omitempty"`
	CreatedAt  time.Time      `json:"created_at"`
	UpdatedAt  time.Time      `json:"updated_at"`
	SolvedAt   *time.Time     `json:"solved_at,omitempty"`
}

func ticketView(t customers.Ticket) TicketView {
	v := TicketView{ID: t.ID, Number: t.Number, CustomerID: t.CustomerID, ContactID: t.ContactID, CallbackID: t.CallbackID,
		Kind: string(t.Kind), Queue: t.Queue, Subject: t.Subject, Status: string(t.Status), Priority: string(t.Priority),
		Assignee: t.Assignee, Recording: recordingView(t.Recording), CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt, SolvedAt: optTime(t.SolvedAt)}
	for _, n := range t.Notes {
		v.Notes = append(v.Notes, NoteView{n.ID, n.Author, n.Body, n.CreatedAt})
	}
	return v
}

// CallbackView is a callback.
type CallbackView struct {
	ID            string     `json:"id"`
	CustomerID    string     `json:"customer_id"`
	ContactID     string     `json:"contact_id,omitempty"`
	Number        string     `json:"number"`
	Queue         string     `json:"queue"`
	Source        string     `json:"source"`
	ArrivedAt     time.Time  `json:"arrived_at"`
	Priority      int        `json:"priority"`
	Language      string     `json:"language,omitempty"`
	Status        string     `json:"status"`
	Attempts      int        `json:"attempts"`
	MaxAttempts   int        `json:"max_attempts"`
	NextAttemptAt *time.Time `json:"next_attempt_at,omitempty"`
	Slot          *time.Time `json:"slot,omitempty"`
	LastResult    string     `json:"last_result,omitempty"`
	TicketID      string     `json:"ticket_id,omitempty"`
	CreatedAt     time.Time  `json:"created_at"`
	UpdatedAt     time.Time  `json:"updated_at"`
}

func callbackView(c customers.Callback) CallbackView {
	return CallbackView{ID: c.ID, CustomerID: c.CustomerID, ContactID: c.ContactID, Number: c.Number, Queue: c.Queue,
		Source: string(c.Source), ArrivedAt: c.ArrivedAt, Priority: c.Priority, Language: c.Language, Status: string(c.Status),
		Attempts: c.Attempts, MaxAttempts: c.MaxAttempts, NextAttemptAt: optTime(c.NextAttemptAt), Slot: optTime(c.Slot),
		LastResult: c.LastResult, TicketID: c.TicketID, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
}

// TimelineEntryView is one thing on a customer's timeline; one of contact, ticket, callback,
// recording is set.
type TimelineEntryView struct {
	At        time.Time      `json:"at"`
	Kind      string         `json:"kind"` // contact | ticket | callback | recording | disposition | merge
	ID        string         `json:"id"`
	Contact   *ContactView   `json:"contact,omitempty"`
	Ticket    *TicketView    `json:"ticket,omitempty"`
	Callback  *CallbackView  `json:"callback,omitempty"`
	Recording *RecordingView `json:"recording,omitempty"` // a conversation recording
	// Disposition is an agent's wrap-up of one of the contacts: code, note, agent, when.
	Disposition *DispositionView `json:"disposition,omitempty"`
	// Merge is another customer merged into this one: from which, by whom, what moved.
	Merge *MergeView `json:"merge,omitempty"`
}

func timelineView(e customers.Entry) TimelineEntryView {
	v := TimelineEntryView{At: e.At, Kind: string(e.Kind), ID: e.ID}
	switch {
	case e.Contact != nil:
		c := contactView(*e.Contact)
		v.Contact = &c
	case e.Ticket != nil:
		t := ticketView(*e.Ticket)
		v.Ticket = &t
	case e.Callback != nil:
		c := callbackView(*e.Callback)
		v.Callback = &c
	case e.Recording != nil:
		v.Recording = recordingView(e.Recording)
	case e.Disposition != nil:
		d := dispositionView(*e.Disposition)
		v.Disposition = &d
	case e.Merge != nil:
		m := mergeView(*e.Merge)
		v.Merge = &m
	}
	return v
}

func sortedKeys[M ~map[string]V, V any](m M) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
