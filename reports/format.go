package reports

import (
	"encoding/csv"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

func ratio(n, d int64) float64 {
	if d <= 0 {
		return math.NaN()
	}
	return float64(n) / float64(d)
}

// RowJSON is a row as the API and the JSON report write it: ratios in [0, 1], times in
// seconds, undefined indicators null.
type RowJSON struct {
	Queue    string    `json:"queue"`
	Interval string    `json:"interval"` // 15m, 1h, 1d, or "total"
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"`

	Offered             int64 `json:"offered"`
	Answered            int64 `json:"answered"`
	AnsweredInTarget    int64 `json:"answered_in_target"`
	Abandoned           int64 `json:"abandoned"`
	ShortAbandoned      int64 `json:"short_abandoned"`
	AbandonedInTarget   int64 `json:"abandoned_in_target"`
	TimedOut            int64 `json:"timed_out"`
	OverflowedOut       int64 `json:"overflowed_out"`
	ConvertedToCallback int64 `json:"converted_to_callback"`
	LeftInTarget        int64 `json:"left_in_target"`
	Handled             int64 `json:"handled"`

	ServiceLevel             *float64 `json:"service_level"`
	ServiceLevelAnswered     *float64 `json:"service_level_answered"`
	ServiceLevelWithAbandons *float64 `json:"service_level_with_abandons"`
	ServiceLevelLeft         *float64 `json:"service_level_left"`
	ASA                      *float64 `json:"asa_seconds"`
	AHT                      *float64 `json:"aht_seconds"`
	AbandonRate              *float64 `json:"abandon_rate"`
	ShortAbandonRate         *float64 `json:"short_abandon_rate"`

	AnsweredWait float64 `json:"answered_wait_seconds"`
	TalkTime     float64 `json:"talk_seconds"`
	WrapUpTime   float64 `json:"wrap_up_seconds"`

	CallbacksBooked    int64 `json:"callbacks_booked"`    // booked for the queue (any source)
	CallbacksCompleted int64 `json:"callbacks_completed"` // the customer was reached
	CallbacksFailed    int64 `json:"callbacks_failed"`    // the attempts ran out
	CallbacksAnswered  int64 `json:"callbacks_answered"`  // taken by an agent (ACD)
	CallbacksCancelled int64 `json:"callbacks_cancelled"` // withdrawn from the ACD
	Voicemails         int64 `json:"voicemails"`

	RepeatBase        int64    `json:"repeat_base"`
	Repeats           int64    `json:"repeats"`
	RepeatContactRate *float64 `json:"repeat_contact_rate"`

	// Dispositions: wrap-up dispositions by code ("none": a note only); {} when none.
	Dispositions map[string]int `json:"dispositions"`

	SatisfactionJSON
}

// SatisfactionJSON is the survey figures as the API writes them: csat in [0, 1], nps in
// [−100, 100], null when there were no answers of the scale.
type SatisfactionJSON struct {
	CSATAnswers   int64    `json:"csat_answers"`
	CSATSatisfied int64    `json:"csat_satisfied"`
	CSAT          *float64 `json:"csat"`
	NPSAnswers    int64    `json:"nps_answers"`
	Promoters     int64    `json:"nps_promoters"`
	Passives      int64    `json:"nps_passives"`
	Detractors    int64    `json:"nps_detractors"`
	NPS           *float64 `json:"nps"`
}

// JSON is the satisfaction as the API writes it.
func (s Satisfaction) JSON() SatisfactionJSON {
	return SatisfactionJSON{CSATAnswers: s.CSATAnswers, CSATSatisfied: s.CSATSatisfied, CSAT: num(s.CSAT),
		NPSAnswers: s.NPSAnswers, Promoters: s.Promoters, Passives: s.Passive, Detractors: s.Detractors, NPS: num(s.NPS)}
}

// AgentSatisfactionJSON is one agent's satisfaction in one queue.
type AgentSatisfactionJSON struct {
	Queue string `json:"queue"`
	Agent string `json:"agent"`
	SatisfactionJSON
}

// SatisfactionJSON is the report's agent breakdown of the survey answers.
func (r Report) SatisfactionJSON() []AgentSatisfactionJSON {
	out := make([]AgentSatisfactionJSON, 0, len(r.Satisfaction))
	for _, a := range r.Satisfaction {
		out = append(out, AgentSatisfactionJSON{Queue: a.Queue, Agent: a.Agent, SatisfactionJSON: a.Satisfaction.JSON()})
	}
	return out
}

func num(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

// JSON is the row as written by the API; interval is its name (or "total").
func (r Row) JSON(interval string) RowJSON {
	c, k := r.Counters, r.KPIs
	j := RowJSON{
		Queue: r.Queue, Interval: interval, Start: r.Start, End: r.End,
		Offered: c.Offered, Answered: c.Answered, AnsweredInTarget: c.AnsweredInTarget, Abandoned: c.Abandoned,
		ShortAbandoned: c.ShortAbandoned, AbandonedInTarget: c.AbandonedInTarget, TimedOut: c.TimedOut,
		OverflowedOut: c.OverflowedOut, ConvertedToCallback: c.ConvertedToCallback, LeftInTarget: c.LeftInTarget,
		Handled:      c.Handled,
		ServiceLevel: num(k.ServiceLevel), ServiceLevelAnswered: num(k.ServiceLevelAnswered),
		ServiceLevelWithAbandons: num(k.ServiceLevelWithAbandons), ServiceLevelLeft: num(k.ServiceLevelLeft),
		ASA: num(k.ASA), AHT: num(k.AHT), AbandonRate: num(k.AbandonRate), ShortAbandonRate: num(k.ShortAbandonRate),
		AnsweredWait: c.AnsweredWait.Seconds(), TalkTime: c.TalkTime.Seconds(), WrapUpTime: c.WrapUpTime.Seconds(),
		CallbacksBooked: r.CallbacksBooked, CallbacksCompleted: r.CallbacksCompleted, CallbacksFailed: r.CallbacksFailed,
		CallbacksAnswered: c.CallbacksAnswered, CallbacksCancelled: c.CallbacksCancelled, Voicemails: r.Voicemails,
		RepeatBase: r.RepeatBase, Repeats: r.Repeats, RepeatContactRate: num(r.RepeatRate),
		Dispositions:     maps.Clone(r.Dispositions),
		SatisfactionJSON: r.Satisfaction.JSON(),
	}
	if j.Dispositions == nil {
		j.Dispositions = map[string]int{}
	}
	return j
}

// DispositionsField writes dispositions by code as one CSV field, codes in order:
// "escalated=1;resolved=3" ("" when none).
func DispositionsField(m map[string]int) string {
	codes := slices.Sorted(maps.Keys(m))
	parts := make([]string, 0, len(codes))
	for _, c := range codes {
		parts = append(parts, c+"="+strconv.Itoa(m[c]))
	}
	return strings.Join(parts, ";")
}

// JSONRows are the report's rows followed by its totals (interval "total").
func (r Report) JSONRows() []RowJSON {
	out := make([]RowJSON, 0, len(r.Rows)+len(r.Totals))
	for _, row := range r.Rows {
		out = append(out, row.JSON(IntervalName(r.Interval)))
	}
	for _, row := range r.Totals {
		out = append(out, row.JSON("total"))
	}
	return out
}

// CSVHeader is the first line of a CSV report.
var CSVHeader = []string{
	"queue", "interval", "start", "end",
	"offered", "answered", "answered_in_target", "abandoned", "short_abandoned", "abandoned_in_target",
	"timed_out", "overflowed_out", "converted_to_callback", "handled",
	"service_level", "service_level_answered", "service_level_with_abandons", "service_level_left",
	"asa_seconds", "aht_seconds", "abandon_rate", "short_abandon_rate",
	"callbacks_booked", "callbacks_completed", "callbacks_failed", "voicemails",
	"repeat_base", "repeats", "repeat_contact_rate", "dispositions",
	"csat_answers", "csat_satisfied", "csat", "nps_answers", "nps_promoters", "nps_passives", "nps_detractors", "nps",
}

// CSVRecord is a row as CSV fields, in CSVHeader order; undefined indicators are empty, times
// are RFC 3339 in the report's time zone, ratios have 4 decimals and seconds 1.
func (j RowJSON) CSVRecord(loc *time.Location) []string {
	i := func(v int64) string { return strconv.FormatInt(v, 10) }
	f := func(p *float64, prec int) string {
		if p == nil {
			return ""
		}
		return strconv.FormatFloat(*p, 'f', prec, 64)
	}
	if loc == nil {
		loc = time.UTC
	}
	return []string{
		j.Queue, j.Interval, j.Start.In(loc).Format(time.RFC3339), j.End.In(loc).Format(time.RFC3339),
		i(j.Offered), i(j.Answered), i(j.AnsweredInTarget), i(j.Abandoned), i(j.ShortAbandoned), i(j.AbandonedInTarget),
		i(j.TimedOut), i(j.OverflowedOut), i(j.ConvertedToCallback), i(j.Handled),
		f(j.ServiceLevel, 4), f(j.ServiceLevelAnswered, 4), f(j.ServiceLevelWithAbandons, 4), f(j.ServiceLevelLeft, 4),
		f(j.ASA, 1), f(j.AHT, 1), f(j.AbandonRate, 4), f(j.ShortAbandonRate, 4),
		i(j.CallbacksBooked), i(j.CallbacksCompleted), i(j.CallbacksFailed), i(j.Voicemails),
		i(j.RepeatBase), i(j.Repeats), f(j.RepeatContactRate, 4), DispositionsField(j.Dispositions),
		i(j.CSATAnswers), i(j.CSATSatisfied), f(j.CSAT, 4), i(j.NPSAnswers), i(j.Promoters), i(j.Passives), i(j.Detractors), f(j.NPS, 1),
	}
}

// WriteCSV writes the report (rows, then totals) as CSV with a header line.
func (r Report) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVHeader); err != nil {
		return err
	}
	for _, j := range r.JSONRows() {
		if err := cw.Write(j.CSVRecord(r.Location)); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
