package dashboard

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hotline-cc/hotline/reports"
	"github.com/hotline-cc/hotline/staffing"
)

// ReportResponse is a report in JSON: Items are the rows (queue by queue, interval by
// interval) followed by one row per queue over the whole range (interval "total").
type ReportResponse struct {
	Interval   string            `json:"interval"`
	From       time.Time         `json:"from"`
	To         time.Time         `json:"to"`
	TimeZone   string            `json:"time_zone"`
	Items      []reports.RowJSON `json:"items"`
	NextCursor string            `json:"next_cursor"`
	// Satisfaction: survey figures per queue and agent over the whole range.
	Satisfaction []reports.AgentSatisfactionJSON `json:"satisfaction"`
	// IVR: self-service per flow over the range (only completed_in_ivr counts).
	IVR []reports.FlowSelfService `json:"ivr"`
}

func location(r *http.Request) (*time.Location, error) {
	tz := r.URL.Query().Get("tz")
	if tz == "" {
		return time.Local, nil
	}
	loc, err := time.LoadLocation(tz)
	if err != nil || strings.Contains(tz, "..") {
		return nil, invalid("tz", "%q is not an IANA time zone (e.g. Asia/Shanghai, UTC)", tz)
	}
	return loc, nil
}

func (s *Server) handleReport(w http.ResponseWriter, r *http.Request, p *principal) error {
	q := r.URL.Query()
	pg, err := page(r)
	if err != nil {
		return err
	}
	loc, err := location(r)
	if err != nil {
		return err
	}
	format, err := queryOneOf(r, "format", "json", "csv")
	if err != nil {
		return err
	}
	iv := reports.Hour
	if v := q.Get("interval"); v != "" {
		if iv, err = reports.ParseInterval(v); err != nil {
			return invalid("interval", "%q: use 15m, 1h or 1d", v)
		}
	}
	from, err := queryTime(r, "from", loc)
	if err != nil {
		return err
	}
	if from.IsZero() {
		return invalid("from", "required: the start, e.g. 2026-05-11 or 2026-05-11T09:00:00+08:00")
	}
	to, err := queryTime(r, "to", loc)
	if err != nil {
		return err
	}
	if to.IsZero() {
		f := from.In(loc)
		to = time.Date(f.Year(), f.Month(), f.Day()+1, f.Hour(), f.Minute(), 0, 0, loc)
	}
	if !from.Before(to) {
		return invalid("to", "must be after from")
	}
	var queues []string
	if v := q.Get("queue"); v != "" {
		for _, name := range strings.Split(v, ",") {
			name = strings.TrimSpace(name)
			if _, ok := s.rules[name]; !ok {
				return invalid("queue", "no queue named %q", name)
			}
			queues = append(queues, name)
		}
	}
	rep, err := reports.Compute(r.Context(), s.store, s.rules, reports.Query{Queues: queues, From: from, To: to, Interval: iv, Location: loc})
	if err != nil {
		return err
	}
	if format == "csv" {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="hotline-report-`+rep.From.In(loc).Format("20060102T1504")+"-"+reports.IntervalName(iv)+`.csv"`)
		return rep.WriteCSV(w)
	}
	rows, err := pageOf(rep.JSONRows(), pg)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ReportResponse{Interval: reports.IntervalName(iv), From: rep.From, To: rep.To, TimeZone: loc.String(),
		Items: rows.Items, NextCursor: rows.NextCursor, Satisfaction: rep.SatisfactionJSON(), IVR: append([]reports.FlowSelfService{}, rep.IVR...)})
	return nil
}

// FiguresView is Erlang C's expectation for one number of agents.
type FiguresView struct {
	Agents          int      `json:"agents"`
	ProbabilityWait float64  `json:"probability_wait"`
	ServiceLevel    float64  `json:"service_level"`
	ASA             *float64 `json:"asa_seconds"` // null when the queue would grow without bound
	Occupancy       float64  `json:"occupancy"`
}

func figuresView(f staffing.Figures) FiguresView {
	v := FiguresView{Agents: f.Agents, ProbabilityWait: f.ProbWait, ServiceLevel: f.ServiceLevel, Occupancy: f.Occupancy}
	if f.ASA >= 0 {
		v.ASA = num(f.ASA.Seconds())
	}
	return v
}

// StaffingView is the answer of the staffing calculator.
type StaffingView struct {
	CallsPerHour    float64       `json:"calls_per_hour"`
	AHT             float64       `json:"aht_seconds"`
	Target          string        `json:"target"` // e.g. 80/20s
	TargetLevel     float64       `json:"target_level"`
	TargetSeconds   float64       `json:"target_seconds"`
	Shrinkage       float64       `json:"shrinkage"`
	MaxOccupancy    float64       `json:"max_occupancy,omitempty"`
	TrafficErlangs  float64       `json:"traffic_erlangs"`
	Agents          int           `json:"agents"`           // on the phones
	ScheduledAgents int           `json:"scheduled_agents"` // agents / (1 − shrinkage)
	ProbabilityWait float64       `json:"probability_wait"`
	ServiceLevel    float64       `json:"service_level"`
	ASA             *float64      `json:"asa_seconds"`
	Occupancy       float64       `json:"occupancy"`
	Table           []FiguresView `json:"table"` // around the answer
}

func staffingView(res staffing.Result) StaffingView {
	f := figuresView(res.Figures)
	v := StaffingView{CallsPerHour: res.CallsPerHour, AHT: res.AHT.Seconds(), Target: res.Target.String(), TargetLevel: res.Target.Level,
		TargetSeconds: res.Target.Within.Seconds(), Shrinkage: res.Shrinkage, MaxOccupancy: res.MaxOccupancy, TrafficErlangs: res.Traffic,
		Agents: res.Agents, ScheduledAgents: res.Scheduled, ProbabilityWait: f.ProbabilityWait, ServiceLevel: f.ServiceLevel, ASA: f.ASA,
		Occupancy: f.Occupancy, Table: []FiguresView{}}
	for _, t := range res.Table {
		v.Table = append(v.Table, figuresView(t))
	}
	return v
}

func durationParam(r *http.Request, name string) (time.Duration, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return 0, nil
	}
	if n, err := strconv.ParseFloat(s, 64); err == nil && n >= 0 {
		return time.Duration(n * float64(time.Second)), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, invalid(name, "%q is not a duration: write 4m, 180s or 180", s)
	}
	return d, nil
}

func percentParam(r *http.Request, name string) (float64, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return 0, nil
	}
	v, err := staffing.ParsePercent(s)
	if err != nil {
		return 0, invalid(name, "%q is not a percentage: write 30%% or 0.3", s)
	}
	return v, nil
}

func targetParam(r *http.Request) (staffing.Target, error) {
	s := r.URL.Query().Get("target")
	if s == "" {
		return staffing.Target{Level: 0.8, Within: 20 * time.Second}, nil
	}
	t, err := staffing.ParseTarget(s)
	if err != nil {
		return t, invalid("target", "%q: write LEVEL/TIME, e.g. 80/20s", s)
	}
	return t, nil
}

func (s *Server) handleStaffing(w http.ResponseWriter, r *http.Request, p *principal) error {
	q := r.URL.Query()
	var in staffing.Input
	var err error
	switch {
	case q.Get("calls_per_hour") != "" && q.Get("calls") != "":
		return invalid("calls", "give calls_per_hour, or calls with period, not both")
	case q.Get("calls_per_hour") != "":
		if in.CallsPerHour, err = strconv.ParseFloat(q.Get("calls_per_hour"), 64); err != nil || in.CallsPerHour < 0 {
			return invalid("calls_per_hour", "%q: a number of calls, 0 or more", q.Get("calls_per_hour"))
		}
	case q.Get("calls") != "":
		calls, err := strconv.ParseFloat(q.Get("calls"), 64)
		if err != nil || calls < 0 {
			return invalid("calls", "%q: a number of calls, 0 or more", q.Get("calls"))
		}
		period, err := durationParam(r, "period")
		if err != nil {
			return err
		}
		if period <= 0 {
			return invalid("period", "required with calls: the time they arrive in, e.g. 30m")
		}
		in.CallsPerHour = calls / period.Hours()
	default:
		return invalid("calls_per_hour", "required (or calls with period)")
	}
	if in.AHT, err = durationParam(r, "aht"); err != nil {
		return err
	}
	if in.AHT <= 0 {
		return invalid("aht", "required: the average handle time, e.g. 4m")
	}
	if in.Target, err = targetParam(r); err != nil {
		return err
	}
	if in.Shrinkage, err = percentParam(r, "shrinkage"); err != nil {
		return err
	}
	if in.Shrinkage < 0 || in.Shrinkage >= 1 {
		return invalid("shrinkage", "must be at least 0%% and below 100%%")
	}
	if in.MaxOccupancy, err = percentParam(r, "max_occupancy"); err != nil {
		return err
	}
	if in.MaxOccupancy < 0 || in.MaxOccupancy > 1 {
		return invalid("max_occupancy", "must be above 0%% and at most 100%%")
	}
	res, err := staffing.Solve(in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, staffingView(res))
	return nil
}

// HourPlanView is the staffing of one hour of the week from stored traffic.
type HourPlanView struct {
	Weekday         string   `json:"weekday"` // Monday ..
	Hour            int      `json:"hour"`    // 0..23 local
	Weeks           int      `json:"weeks"`
	Offered         int64    `json:"offered"`
	CallsPerHour    float64  `json:"calls_per_hour"`
	AHT             float64  `json:"aht_seconds"`
	Agents          int      `json:"agents"`
	ScheduledAgents int      `json:"scheduled_agents"`
	ServiceLevel    float64  `json:"service_level"`
	ASA             *float64 `json:"asa_seconds"`
	Occupancy       float64  `json:"occupancy"`
}

func (s *Server) handleStaffingHistory(w http.ResponseWriter, r *http.Request, p *principal) error {
	q := r.URL.Query()
	pg, err := page(r)
	if err != nil {
		return err
	}
	queue := q.Get("queue")
	if queue == "" {
		return invalid("queue", "required")
	}
	if _, ok := s.rules[queue]; !ok {
		return invalid("queue", "no queue named %q", queue)
	}
	weeks := 4
	if v := q.Get("weeks"); v != "" {
		if weeks, err = strconv.Atoi(v); err != nil || weeks < 1 || weeks > reports.MaxWeeks {
			return invalid("weeks", "%q: use 1 to %d", v, reports.MaxWeeks)
		}
	}
	target, err := targetParam(r)
	if err != nil {
		return err
	}
	shrink, err := percentParam(r, "shrinkage")
	if err != nil {
		return err
	}
	if shrink < 0 || shrink >= 1 {
		return invalid("shrinkage", "must be at least 0%% and below 100%%")
	}
	loc, err := location(r)
	if err != nil {
		return err
	}
	hours, err := reports.Traffic(r.Context(), s.store, s.rules, queue, weeks, s.now(), loc)
	if err != nil {
		return err
	}
	var out []HourPlanView
	for _, h := range hours {
		aht := h.AHT
		if aht <= 0 {
			aht = 3 * time.Minute // the ACD's default handle time before any call was handled
		}
		res, err := staffing.Solve(staffing.Input{CallsPerHour: h.CallsPerHour, AHT: aht, Target: target, Shrinkage: shrink})
		if err != nil {
			return err
		}
		f := figuresView(res.Figures)
		out = append(out, HourPlanView{Weekday: h.Weekday.String(), Hour: h.Hour, Weeks: h.Weeks, Offered: h.Offered,
			CallsPerHour: h.CallsPerHour, AHT: aht.Seconds(), Agents: res.Agents, ScheduledAgents: res.Scheduled,
			ServiceLevel: f.ServiceLevel, ASA: f.ASA, Occupancy: f.Occupancy})
	}
	l, err := pageOf(out, pg)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, l)
	return nil
}
