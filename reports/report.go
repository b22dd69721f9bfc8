package reports

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/hotline-cc/hotline/acd"
	"github.com/hotline-cc/hotline/customers"
)

// ErrInvalid is wrapped by errors about a bad report query; the message names the field.
var ErrInvalid = errors.New("reports: invalid query")

// Source is what a report reads; *customers.Store satisfies it.
type Source interface {
	ListContacts(ctx context.Context, f customers.ContactFilter, p customers.Page) ([]customers.Contact, string, error)
	ListCallbacks(ctx context.Context, f customers.CallbackFilter, p customers.Page) ([]customers.Callback, string, error)
	ListTickets(ctx context.Context, f customers.TicketFilter, p customers.Page) ([]customers.Ticket, string, error)
}

// DispositionSource is what a report reads the wrap-up dispositions from; *customers.Store
// satisfies it. A Source without it reports no dispositions.
type DispositionSource interface {
	ListDispositions(ctx context.Context, f customers.DispositionFilter, p customers.Page) ([]customers.Disposition, string, error)
}

// SurveySource is what a report reads the post-call survey answers from; *customers.Store
// satisfies it. A Source without it reports no satisfaction.
type SurveySource interface {
	ListSurveys(ctx context.Context, f customers.SurveyFilter, p customers.Page) ([]customers.Survey, string, error)
}

// Satisfaction is the survey answers of a row or an agent: CSAT from the 1-5 answers, NPS
// from the 0-10 answers (docs/kpis.md).
type Satisfaction struct {
	CSATAnswers, CSATSatisfied     int64   // 1-5 answers; of which 4 or 5
	CSAT                           float64 // CSATSatisfied / CSATAnswers, in [0, 1] (NaN when none)
	NPSAnswers, Promoters, Passive int64   // 0-10 answers; of which 9-10; 7-8
	Detractors                     int64   // of which 0-6
	NPS                            float64 // 100 × (Promoters − Detractors) / NPSAnswers, in [−100, 100] (NaN when none)
}

func (s *Satisfaction) add(o Satisfaction) {
	s.CSATAnswers += o.CSATAnswers
	s.CSATSatisfied += o.CSATSatisfied
	s.NPSAnswers += o.NPSAnswers
	s.Promoters += o.Promoters
	s.Passive += o.Passive
	s.Detractors += o.Detractors
}

func (s *Satisfaction) count(sv customers.Survey) {
	switch customers.SurveyBand(sv.Scale, sv.Score) {
	case "satisfied":
		s.CSATAnswers++
		s.CSATSatisfied++
	case "unsatisfied":
		s.CSATAnswers++
	case "promoter":
		s.NPSAnswers++
		s.Promoters++
	case "passive":
		s.NPSAnswers++
		s.Passive++
	case "detractor":
		s.NPSAnswers++
		s.Detractors++
	}
}

func (s *Satisfaction) finish() {
	s.CSAT = ratio(s.CSATSatisfied, s.CSATAnswers)
	s.NPS = 100 * ratio(s.Promoters-s.Detractors, s.NPSAnswers)
}

// AgentSatisfaction is one agent's survey answers in one queue over the report's range.
type AgentSatisfaction struct {
	Queue, Agent string
	Satisfaction
}

// Rules are the thresholds of a queue that decide how a contact counts, as in the ACD.
type Rules struct {
	ServiceLevel time.Duration // T: a wait ≤ T is within target (default 20 s)
	ShortAbandon time.Duration // S: an abandon after ≤ S is short (default 5 s)
	WrapUp       time.Duration // wrap-up added to a handled contact that has no acd.handled event
}

func (r Rules) withDefaults() Rules {
	if r.ServiceLevel == 0 {
		r.ServiceLevel = acd.DefaultServiceLevel
	}
	if r.ShortAbandon == 0 {
		r.ShortAbandon = acd.DefaultShortAbandon
	}
	return r
}

// QueueRules gives every queue's rules, by queue name, with the ACD's defaults for the
// thresholds left at zero.
func QueueRules(queues map[string]Rules) map[string]Rules {
	out := map[string]Rules{}
	for name, r := range queues {
		out[name] = r.withDefaults()
	}
	return out
}

// Intervals a report may be cut into.
const (
	Quarter = 15 * time.Minute
	Hour    = time.Hour
	Day     = 24 * time.Hour // a calendar day in the report's time zone (23 or 25 h across DST)
)

// ParseInterval reads 15m, 1h (hour) or 1d (day, 24h).
func ParseInterval(s string) (time.Duration, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "15m", "15min", "quarter":
		return Quarter, nil
	case "1h", "h", "hour", "60m":
		return Hour, nil
	case "1d", "d", "day", "24h":
		return Day, nil
	}
	return 0, fmt.Errorf("%w: interval %q: use 15m, 1h or 1d", ErrInvalid, s)
}

// IntervalName is how an interval is written in reports: 15m, 1h or 1d.
func IntervalName(d time.Duration) string {
	switch d {
	case Quarter:
		return "15m"
	case Hour:
		return "1h"
	case Day:
		return "1d"
	}
	return d.String()
}

// MaxRows bounds a report (queues × intervals), so one request cannot ask for years of
// quarter hours.
const MaxRows = 20000

// DefaultRepeatWindow is how soon a customer must come back for a contact to count as repeated.
const DefaultRepeatWindow = 7 * 24 * time.Hour

// Query says what to report.
type Query struct {
	Queues   []string      // empty: every queue of the rules and every queue seen in the data
	From, To time.Time     // [From, To): From is aligned down and To up to whole intervals
	Interval time.Duration // Quarter, Hour or Day
	Location *time.Location
	// RepeatWindow: a contact is repeated when its customer makes another inbound contact
	// within this time after it (default 7 days).
	RepeatWindow time.Duration
}

// Row is one queue over one interval (or, in Report.Totals, over the whole range).
type Row struct {
	Queue      string
	Start, End time.Time
	// Counters are counted as the ACD counts them; Entered and the agent times are not kept
	// in the store and stay zero (so KPIs.Occupancy is NaN).
	Counters acd.Counters
	KPIs     acd.KPIs
	// From the store: callbacks booked for the queue (any source; asking again updates a
	// booking rather than adding one), callbacks whose customer was reached, callbacks whose
	// attempts ran out, voicemails left.
	CallbacksBooked, CallbacksCompleted, CallbacksFailed, Voicemails int64
	// RepeatBase: inbound callers offered (identified, not withheld); Repeats: of which the
	// customer made another inbound contact within the repeat window. RepeatRate = Repeats /
	// RepeatBase (NaN when empty).
	RepeatBase, Repeats int64
	RepeatRate          float64
	// Dispositions counts the agents' wrap-up dispositions of the queue's contacts first
	// submitted in the interval, by code ("none" for a note without a code); nil when none.
	Dispositions map[string]int
	// Satisfaction: the survey answers about the queue's calls given in the interval.
	Satisfaction
}

// AgentDispositions is one agent's wrap-up dispositions in one queue over the report's range,
// by code ("none" for a note without a code).
type AgentDispositions struct {
	Queue        string         `json:"queue"`
	Agent        string         `json:"agent"`
	Dispositions map[string]int `json:"dispositions"`
	Total        int            `json:"total"`
}

// Report is the answer to a Query.
type Report struct {
	Query
	Rows   []Row // by queue (query order, then name), then start time
	Totals []Row // one per queue over the whole range
	// Agents is the agent breakdown of the dispositions: one entry per queue (in the order of
	// Totals) and agent (by ID) who gave any in the range.
	Agents []AgentDispositions
	// Satisfaction is the agent breakdown of the survey answers: one entry per queue (in the
	// order of Totals) and agent (by ID) rated in the range; answers with no agent are in
	// the queue's rows only.
	Satisfaction []AgentSatisfaction
	// IVR is self-service per flow over the range: the inbound calls that started in it, by
	// how those that never reached a queue ended (docs/kpis.md "IVR outcomes").
	IVR []FlowSelfService
}

// FlowSelfService is one flow's calls over a report's range. Only completed_in_ivr is
// self-service; abandoned_in_ivr callers hung up in the menus unserved.
type FlowSelfService struct {
	Flow           string  `json:"flow"`
	Calls          int64   `json:"calls"`            // inbound calls that started in the flow
	CompletedInIVR int64   `json:"completed_in_ivr"` // the flow reached its end: self-service
	AbandonedInIVR int64   `json:"abandoned_in_ivr"` // hung up in the menus (or the flow failed)
	SelfService    float64 `json:"-"`                // CompletedInIVR / Calls (NaN when none)
	// SelfServiceRate is SelfService for JSON (null when there were no calls).
	SelfServiceRate *float64 `json:"self_service_rate"`
}

// Compute builds the report from the store.
func Compute(ctx context.Context, src Source, rules map[string]Rules, q Query) (Report, error) {
	if q.Location == nil {
		q.Location = time.Local
	}
	if q.RepeatWindow <= 0 {
		q.RepeatWindow = DefaultRepeatWindow
	}
	switch q.Interval {
	case Quarter, Hour, Day:
	default:
		return Report{}, fmt.Errorf("%w: interval %v: use 15m, 1h or 1d", ErrInvalid, q.Interval)
	}
	if q.From.IsZero() || q.To.IsZero() {
		return Report{}, fmt.Errorf("%w: from and to are both required", ErrInvalid)
	}
	if !q.From.Before(q.To) {
		return Report{}, fmt.Errorf("%w: from (%s) must be before to (%s)", ErrInvalid, q.From.Format(time.RFC3339), q.To.Format(time.RFC3339))
	}
	bounds := buckets(q.From, q.To, q.Interval, q.Location)
	q.From, q.To = bounds[0], bounds[len(bounds)-1]
	nb := len(bounds) - 1
	nq := max(len(q.Queues), 1)
	if nb*nq > MaxRows {
		return Report{}, fmt.Errorf("%w: %d intervals of %s for %d queue(s) is more than %d rows; shorten the range or use a longer interval",
			ErrInvalid, nb, IntervalName(q.Interval), nq, MaxRows)
	}
	t := &tally{q: q, bounds: bounds, rules: rules, rows: map[string][]Row{}, agents: map[[2]string]map[string]int{},
		rated: map[[2]string]*Satisfaction{}, flows: map[string]*FlowSelfService{}}
	if err := t.contacts(ctx, src); err != nil {
		return Report{}, err
	}
	if err := t.store(ctx, src); err != nil {
		return Report{}, err
	}
	if ds, ok := src.(DispositionSource); ok {
		if err := t.dispositions(ctx, ds); err != nil {
			return Report{}, err
		}
	}
	if ss, ok := src.(SurveySource); ok {
		if err := t.surveys(ctx, ss); err != nil {
			return Report{}, err
		}
	}
	return t.report()
}

// buckets are the interval boundaries covering [from, to) in loc: wall-clock aligned, so a
// day is a calendar day and an hour starts at :00 local time.
func buckets(from, to time.Time, iv time.Duration, loc *time.Location) []time.Time {
	f := from.In(loc)
	var start time.Time
	switch iv {
	case Day:
		start = time.Date(f.Year(), f.Month(), f.Day(), 0, 0, 0, 0, loc)
	case Hour:
		start = time.Date(f.Year(), f.Month(), f.Day(), f.Hour(), 0, 0, 0, loc)
	default:
		start = time.Date(f.Year(), f.Month(), f.Day(), f.Hour(), f.Minute()/15*15, 0, 0, loc)
	}
	if start.After(from) { // a wall-clock time skipped or repeated by DST
		start = from.Truncate(iv)
	}
	out := []time.Time{start}
	for b := start; b.Before(to); {
		if iv == Day {
			y, m, d := b.Date()
			b = time.Date(y, m, d+1, 0, 0, 0, 0, loc)
		} else {
			b = b.Add(iv)
		}
		out = append(out, b)
		if len(out) > MaxRows*4 {
			break
		}
	}
	return out
}

type tally struct {
	q      Query
	bounds []time.Time
	rules  map[string]Rules
	rows   map[string][]Row             // queue → one row per bucket
	agents map[[2]string]map[string]int // (queue, agent) → code → dispositions in the range
	rated  map[[2]string]*Satisfaction  // (queue, agent) → survey answers in the range
	flows  map[string]*FlowSelfService  // flow → its calls started in the range
}

func (t *tally) rule(queue string) Rules { return t.rules[queue].withDefaults() }

// at returns the row of queue for time x, or nil outside the range or for an unwanted queue.
func (t *tally) at(queue string, x time.Time) *Row {
	if queue == "" || x.Before(t.bounds[0]) || !x.Before(t.bounds[len(t.bounds)-1]) {
		return nil
	}
	if len(t.q.Queues) > 0 && !slices.Contains(t.q.Queues, queue) {
		return nil
	}
	rows := t.rows[queue]
	if rows == nil {
		rows = make([]Row, len(t.bounds)-1)
		for i := range rows {
			rows[i] = Row{Queue: queue, Start: t.bounds[i], End: t.bounds[i+1]}
		}
		t.rows[queue] = rows
	}
	i := sort.Search(len(t.bounds), func(i int) bool { return t.bounds[i].After(x) }) - 1
	return &rows[i]
}

const page = 500

// each pages through a list.
func each[T any](ctx context.Context, list func(customers.Page) ([]T, string, error), fn func(T)) error {
	p := customers.Page{Limit: page}
	for {
		items, next, err := list(p)
		if err != nil {
			return err
		}
		for _, it := range items {
			fn(it)
		}
		if next == "" {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		p.Cursor = next
	}
}

// lookBack is how long before From a contact may have started and still leave a queue or end
// its wrap-up inside the range.
const lookBack = 24 * time.Hour

func (t *tally) contacts(ctx context.Context, src Source) error {
	from, to := t.q.From.Add(-lookBack), t.q.To.Add(t.q.RepeatWindow)
	type offered struct {
		row      *Row
		customer string
		at       time.Time
	}
	var base []offered
	inbound := map[string][]time.Time{} // customer → start times of inbound contacts
	err := each(ctx, func(p customers.Page) ([]customers.Contact, string, error) {
		return src.ListContacts(ctx, customers.ContactFilter{From: from, To: to}, p)
	}, func(c customers.Contact) {
		if c.Direction == customers.Inbound && c.CustomerID != "" {
			inbound[c.CustomerID] = append(inbound[c.CustomerID], c.StartedAt)
		}
		t.flow(c)
		for _, row := range t.contact(c) {
			if identified(c) {
				base = append(base, offered{row, c.CustomerID, c.StartedAt})
			}
		}
	})
	if err != nil {
		return err
	}
	for _, ts := range inbound {
		slices.SortFunc(ts, func(a, b time.Time) int { return a.Compare(b) })
	}
	for _, o := range base {
		o.row.RepeatBase++
		ts := inbound[o.customer]
		i := sort.Search(len(ts), func(i int) bool { return ts[i].After(o.at) })
		if i < len(ts) && !ts[i].After(o.at.Add(t.q.RepeatWindow)) {
			o.row.Repeats++
		}
	}
	return nil
}

// flow counts an inbound call that started in the range in its flow's self-service figures.
func (t *tally) flow(c customers.Contact) {
	if c.Flow == "" || c.Direction != customers.Inbound || c.StartedAt.Before(t.q.From) || !c.StartedAt.Before(t.q.To) {
		return
	}
	f := t.flows[c.Flow]
	if f == nil {
		f = &FlowSelfService{Flow: c.Flow}
		t.flows[c.Flow] = f
	}
	f.Calls++
	switch {
	case c.Outcome.SelfService(): // completed_in_ivr, or self_service in an old row
		f.CompletedInIVR++
	case c.Outcome == customers.OutcomeAbandonedInIVR:
		f.AbandonedInIVR++
	}
}

func identified(c customers.Contact) bool {
	return c.Direction == customers.Inbound && c.Address != "" && !customers.IsWithheld(c.Address)
}

// contact counts one contact and returns the rows in which it was offered as an inbound caller.
func (t *tally) contact(c customers.Contact) []*Row {
	var left, handled []customers.Event
	for _, e := range c.Events {
		switch e.Type {
		case EventLeft:
			left = append(left, e)
		case EventHandled:
			handled = append(handled, e)
		}
	}
	var offeredIn []*Row
	if len(left) > 0 {
		for _, e := range left {
			queue := dataString(e.Data, "queue")
			row := t.at(queue, e.At)
			if row == nil {
				continue
			}
			s, shortKnown := leftSample(e)
			r := t.rule(queue)
			if !shortKnown { // an event written before acd.left had "short"
				s.Short = acd.IsShortAbandon(s.Outcome, s.Wait, r.ShortAbandon)
			}
			row.Counters.Add(s.Counters(r.ServiceLevel))
			if s.Kind != acd.KindCallback {
				offeredIn = append(offeredIn, row)
			}
		}
	} else if row, outcome, ok := t.leftFromFields(c); ok {
		r := t.rule(c.Queue)
		s := acd.WaitSample{Queue: c.Queue, Kind: acd.KindCaller, Outcome: outcome, Wait: c.Wait,
			Short: acd.IsShortAbandon(outcome, c.Wait, r.ShortAbandon)}
		row.Counters.Add(s.Counters(r.ServiceLevel))
		offeredIn = append(offeredIn, row)
	}
	if len(handled) > 0 {
		for _, e := range handled {
			if row := t.at(dataString(e.Data, "queue"), e.At); row != nil {
				row.Counters.Handled++
				row.Counters.TalkTime += dataMS(e.Data, "talk_ms")
				row.Counters.WrapUpTime += dataMS(e.Data, "wrap_up_ms")
			}
		}
	} else if c.Queue != "" && (c.Outcome == customers.OutcomeAnswered || c.Outcome == customers.OutcomeCallbackAnswered) {
		wrap := t.rule(c.Queue).WrapUp
		end := c.EndedAt
		if end.IsZero() {
			end = c.AnsweredAt.Add(c.Talk)
		}
		if row := t.at(c.Queue, end.Add(wrap)); row != nil {
			row.Counters.Handled++
			row.Counters.TalkTime += c.Talk
			row.Counters.WrapUpTime += wrap
		}
	}
	if c.Direction == customers.Outbound && c.Outcome == customers.OutcomeCallbackAnswered {
		at := c.AnsweredAt
		if at.IsZero() {
			at = c.StartedAt
		}
		if row := t.at(c.Queue, at); row != nil {
			row.CallbacksCompleted++
		}
	}
	return offeredIn
}

// leftFromFields reads how an inbound contact without acd.left events left its queue: at
// QueuedAt + Wait, by its outcome; an outcome that says nothing of the queue (voicemail,
// transferred, ...) after queueing counts as timed out: the caller left unanswered. Callback
// attempts (outbound) count in the ACD's callback counters only through acd.left events.
func (t *tally) leftFromFields(c customers.Contact) (*Row, acd.Outcome, bool) {
	if c.Queue == "" || c.Direction != customers.Inbound || c.QueuedAt.IsZero() || c.Outcome == "" {
		return nil, "", false // no queue, not a caller, never queued, or still in progress
	}
	var o acd.Outcome
	switch c.Outcome {
	case customers.OutcomeAnswered:
		o = acd.OutcomeAnswered
	case customers.OutcomeAbandoned, customers.OutcomeShortAbandoned:
		o = acd.OutcomeAbandoned
	case customers.OutcomeCallbackRequested:
		o = acd.OutcomeCallback
	default:
		o = acd.OutcomeTimeout
	}
	row := t.at(c.Queue, c.QueuedAt.Add(c.Wait))
	return row, o, row != nil
}

// store counts callbacks booked, voicemails and failed callbacks.
func (t *tally) store(ctx context.Context, src Source) error {
	err := each(ctx, func(p customers.Page) ([]customers.Callback, string, error) {
		return src.ListCallbacks(ctx, customers.CallbackFilter{From: t.q.From, To: t.q.To}, p)
	}, func(cb customers.Callback) {
		if row := t.at(cb.Queue, cb.CreatedAt); row != nil {
			row.CallbacksBooked++
		}
	})
	if err != nil {
		return err
	}
	for _, kind := range []customers.TicketKind{customers.KindVoicemail, customers.KindCallbackFailed} {
		err := each(ctx, func(p customers.Page) ([]customers.Ticket, string, error) {
			return src.ListTickets(ctx, customers.TicketFilter{Kind: kind, From: t.q.From, To: t.q.To}, p)
		}, func(tk customers.Ticket) {
			if row := t.at(tk.Queue, tk.CreatedAt); row != nil {
				if kind == customers.KindVoicemail {
					row.Voicemails++
				} else {
					row.CallbacksFailed++
				}
			}
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// dispositionCode is a disposition's code as reports count it.
func dispositionCode(code string) string {
	if code == "" {
		return "none"
	}
	return code
}

// dispositions counts the wrap-up dispositions first submitted in the range, per queue row
// and per agent.
func (t *tally) dispositions(ctx context.Context, src DispositionSource) error {
	return each(ctx, func(p customers.Page) ([]customers.Disposition, string, error) {
		return src.ListDispositions(ctx, customers.DispositionFilter{From: t.q.From, To: t.q.To}, p)
	}, func(d customers.Disposition) {
		row := t.at(d.Queue, d.CreatedAt)
		if row == nil {
			return
		}
		code := dispositionCode(d.Code)
		if row.Dispositions == nil {
			row.Dispositions = map[string]int{}
		}
		row.Dispositions[code]++
		k := [2]string{d.Queue, d.Agent}
		if t.agents[k] == nil {
			t.agents[k] = map[string]int{}
		}
		t.agents[k][code]++
	})
}

// surveys counts the survey answers given in the range, per queue row and per agent.
func (t *tally) surveys(ctx context.Context, src SurveySource) error {
	return each(ctx, func(p customers.Page) ([]customers.Survey, string, error) {
		return src.ListSurveys(ctx, customers.SurveyFilter{From: t.q.From, To: t.q.To}, p)
	}, func(sv customers.Survey) {
		row := t.at(sv.Queue, sv.At)
		if row == nil {
			return
		}
		row.Satisfaction.count(sv)
		if sv.Agent == "" {
			return
		}
		k := [2]string{sv.Queue, sv.Agent}
		if t.rated[k] == nil {
			t.rated[k] = &Satisfaction{}
		}
		t.rated[k].count(sv)
	})
}

func addCounts(dst *map[string]int, src map[string]int) {
	for code, n := range src {
		if *dst == nil {
			*dst = map[string]int{}
		}
		(*dst)[code] += n
	}
}

func (t *tally) report() (Report, error) {
	queues := slices.Clone(t.q.Queues)
	if len(queues) == 0 {
		for name := range t.rules {
			queues = append(queues, name)
		}
		for name := range t.rows {
			if _, ok := t.rules[name]; !ok {
				queues = append(queues, name)
			}
		}
		slices.Sort(queues)
	}
	r := Report{Query: t.q}
	for _, name := range queues {
		rows := t.rows[name]
		if rows == nil {
			t.at(name, t.bounds[0]) // an empty queue still has its rows
			rows = t.rows[name]
		}
		total := Row{Queue: name, Start: t.q.From, End: t.q.To}
		for i := range rows {
			rows[i].finish()
			total.Counters.Add(rows[i].Counters)
			total.CallbacksBooked += rows[i].CallbacksBooked
			total.CallbacksCompleted += rows[i].CallbacksCompleted
			total.CallbacksFailed += rows[i].CallbacksFailed
			total.Voicemails += rows[i].Voicemails
			total.RepeatBase += rows[i].RepeatBase
			total.Repeats += rows[i].Repeats
			addCounts(&total.Dispositions, rows[i].Dispositions)
			total.Satisfaction.add(rows[i].Satisfaction)
		}
		total.finish()
		r.Rows = append(r.Rows, rows...)
		r.Totals = append(r.Totals, total)
		var agents []AgentDispositions
		for k, codes := range t.agents {
			if k[0] != name {
				continue
			}
			a := AgentDispositions{Queue: name, Agent: k[1], Dispositions: codes}
			for _, n := range codes {
				a.Total += n
			}
			agents = append(agents, a)
		}
		sort.Slice(agents, func(i, j int) bool { return agents[i].Agent < agents[j].Agent })
		r.Agents = append(r.Agents, agents...)
		var rated []AgentSatisfaction
		for k, sat := range t.rated {
			if k[0] != name {
				continue
			}
			a := AgentSatisfaction{Queue: name, Agent: k[1], Satisfaction: *sat}
			a.finish()
			rated = append(rated, a)
		}
		sort.Slice(rated, func(i, j int) bool { return rated[i].Agent < rated[j].Agent })
		r.Satisfaction = append(r.Satisfaction, rated...)
	}
	for _, f := range t.flows {
		f.SelfService = ratio(f.CompletedInIVR, f.Calls)
		f.SelfServiceRate = num(f.SelfService)
		r.IVR = append(r.IVR, *f)
	}
	sort.Slice(r.IVR, func(i, j int) bool { return r.IVR[i].Flow < r.IVR[j].Flow })
	return r, nil
}

func (r *Row) finish() {
	r.KPIs = r.Counters.KPIs()
	r.RepeatRate = ratio(r.Repeats, r.RepeatBase)
	r.Satisfaction.finish()
}
