// Package schedule is opening hours: a week of time ranges, holidays and a time zone,
// compiled to answer "open at t?" and "when does it next open?". It needs only the standard
// library and knows nothing of the configuration file; it must not start anything.
package schedule

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"time"
)

// Schedule is opening hours as a person writes them (and as the configuration file holds
// them under schedules:). Compile checks it and makes it ready to answer.
type Schedule struct {
	TimeZone string              `yaml:"timezone"` // IANA name, e.g. Asia/Shanghai
	Weekly   map[string][]string `yaml:"weekly"`   // mon..sun -> ["09:00-18:00", ...]
	Holidays []string            `yaml:"holidays"` // YYYY-MM-DD, closed all day
}

// FieldError is a problem with one field of a Schedule.
type FieldError struct {
	Key string // from the schedule itself, e.g. weekly.mon[0]
	Msg string
}

func (e *FieldError) Error() string { return e.Key + ": " + e.Msg }

// Hours is a Schedule compiled to answer: is it open at t, is t a holiday, and when does it
// next open. Days and times are read in the schedule's time zone; a holiday is closed all
// day; a range ending 24:00 runs to midnight. A nil *Hours is always open.
//
// The configuration's validation, the flows' hours step (ivr) and callback placement
// (customers) all compile schedules here: one parser, so a schedule the file accepts is a
// schedule every user can compile.
type Hours struct {
	loc      *time.Location
	weekly   [7][]span // by time.Weekday, sorted by start
	holidays map[string]bool
}

type span struct{ from, to int } // minutes since midnight, to exclusive (24:00 = 1440)

var weekdays = map[string]time.Weekday{"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday,
	"wed": time.Wednesday, "thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday}

// rangeRE is HH:MM-HH:MM; a range may end at 24:00 but not later.
var rangeRE = regexp.MustCompile(`^([01]\d|2[0-3]):([0-5]\d)-(?:([01]\d|2[0-3]):([0-5]\d)|(24):(00))$`)

// Compile checks the schedule and makes it ready to answer. Errors are *FieldError, every
// problem at once, joined, keyed from the schedule itself (weekly.mon[0]); the
// configuration keys them from the top of its file (schedules.office.weekly.mon[0]).
func (s Schedule) Compile() (*Hours, error) {
	var errs []error
	bad := func(key, format string, a ...any) {
		errs = append(errs, &FieldError{Key: key, Msg: fmt.Sprintf(format, a...)})
	}
	h := &Hours{holidays: map[string]bool{}}
	loc, err := time.LoadLocation(s.TimeZone)
	if err != nil || s.TimeZone == "" {
		bad("timezone", "%q is not an IANA time zone (e.g. Asia/Shanghai)", s.TimeZone)
	}
	h.loc = loc
	days := make([]string, 0, len(s.Weekly))
	for d := range s.Weekly {
		days = append(days, d)
	}
	sort.Strings(days) // errors in a stable order
	for _, d := range days {
		wd, known := weekdays[d]
		if !known {
			bad("weekly."+d, "%q is not a day; use mon, tue, wed, thu, fri, sat, sun", d)
		}
		for i, r := range s.Weekly[d] {
			sp, ok := parseSpan(r)
			if !ok {
				bad(fmt.Sprintf("weekly.%s[%d]", d, i), "%q is not a range like 09:00-18:00", r)
			} else if known {
				h.weekly[wd] = append(h.weekly[wd], sp)
			}
		}
		sort.Slice(h.weekly[wd], func(i, j int) bool { return h.weekly[wd][i].from < h.weekly[wd][j].from })
	}
	for i, d := range s.Holidays {
		if _, err := time.Parse("2006-01-02", d); err != nil {
			bad(fmt.Sprintf("holidays[%d]", i), "%q is not a date like 2026-12-25", d)
			continue
		}
		h.holidays[d] = true
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return h, nil
}

func parseSpan(r string) (span, bool) {
	m := rangeRE.FindStringSubmatch(r)
	if m == nil {
		return span{}, false
	}
	n := func(s string) int { v, _ := strconv.Atoi(s); return v }
	from := n(m[1])*60 + n(m[2])
	to := n(m[3])*60 + n(m[4])
	if m[5] != "" {
		to = 24 * 60
	}
	return span{from, to}, from < to
}

// Location is the schedule's time zone.
func (h *Hours) Location() *time.Location { return h.loc }

// Open reports whether t is inside opening hours (never on a holiday).
func (h *Hours) Open(t time.Time) bool {
	if h == nil {
		return true
	}
	lt := t.In(h.loc)
	if h.holidays[lt.Format("2006-01-02")] {
		return false
	}
	m := lt.Hour()*60 + lt.Minute()
	for _, sp := range h.weekly[lt.Weekday()] {
		if m >= sp.from && m < sp.to {
			return true
		}
	}
	return false
}

// Holiday reports whether t falls on a listed holiday, in the schedule's time zone.
func (h *Hours) Holiday(t time.Time) bool {
	return h != nil && h.holidays[t.In(h.loc).Format("2006-01-02")]
}

// NextOpen is t when the schedule is open at t, otherwise the next moment it opens. ok is
// false when it does not open within a year (no hours at all, or every day a holiday).
func (h *Hours) NextOpen(t time.Time) (next time.Time, ok bool) {
	if h == nil || h.Open(t) {
		return t, true
	}
	lt := t.In(h.loc)
	y, mo, d := lt.Date()
	for i := 0; i <= 366; i++ {
		day := time.Date(y, mo, d+i, 0, 0, 0, 0, h.loc)
		if h.holidays[day.Format("2006-01-02")] {
			continue
		}
		for _, sp := range h.weekly[day.Weekday()] {
			// The first range start after t (t itself is closed). A start that falls in a
			// daylight-saving gap moves forward; Open checks it is still inside the range.
			start := time.Date(day.Year(), day.Month(), day.Day(), sp.from/60, sp.from%60, 0, 0, h.loc)
			if start.After(t) && h.Open(start) {
				return start, true
			}
		}
	}
	return time.Time{}, false
}
