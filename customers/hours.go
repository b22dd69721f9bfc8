package customers

import (
	"fmt"
	"sort"
	"time"

	"github.com/hotline-cc/hotline/config"
)

// Hours is a schedule of the configuration made ready to answer: is it open at t, and when
// does it next open. Days and times are read in the schedule's time zone; a holiday is closed
// all day; a range ending 24:00 runs to midnight.
type Hours struct {
	loc      *time.Location
	weekly   [7][][2]int // by time.Weekday: [from, to) in minutes since midnight
	holidays map[string]bool
}

var weekdays = map[string]time.Weekday{"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday,
	"wed": time.Wednesday, "thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday}

// NewHours compiles a schedule.
func NewHours(s config.Schedule) (*Hours, error) {
	loc, err := time.LoadLocation(s.TimeZone)
	if err != nil || s.TimeZone == "" {
		return nil, fmt.Errorf("%q is not an IANA time zone (e.g. Asia/Shanghai)", s.TimeZone)
	}
	h := &Hours{loc: loc, holidays: map[string]bool{}}
	for day, ranges := range s.Weekly {
		wd, ok := weekdays[day]
		if !ok {
			return nil, fmt.Errorf("weekly.%s: not a day; use mon, tue, wed, thu, fri, sat, sun", day)
		}
		for _, r := range ranges {
			var h1, m1, h2, m2 int
			n, _ := fmt.Sscanf(r, "%d:%d-%d:%d", &h1, &m1, &h2, &m2)
			from, to := h1*60+m1, h2*60+m2
			if n != 4 || m1 > 59 || m2 > 59 || from < 0 || from >= to || to > 1440 {
				return nil, fmt.Errorf("weekly.%s: %q is not a range like 09:00-18:00", day, r)
			}
			h.weekly[wd] = append(h.weekly[wd], [2]int{from, to})
		}
		sort.Slice(h.weekly[wd], func(i, j int) bool { return h.weekly[wd][i][0] < h.weekly[wd][j][0] })
	}
	for _, d := range s.Holidays {
		if _, err := time.Parse("2006-01-02", d); err != nil {
			return nil, fmt.Errorf("holidays: %q is not a date like 2026-12-25", d)
		}
		h.holidays[d] = true
	}
	return h, nil
}

// Location is the schedule's time zone.
func (h *Hours) Location() *time.Location { return h.loc }

// Open reports whether t is inside opening hours. A nil *Hours is always open.
func (h *Hours) Open(t time.Time) bool {
	if h == nil {
		return true
	}
	lt := t.In(h.loc)
	if h.holidays[lt.Format("2006-01-02")] {
		return false
	}
	m := lt.Hour()*60 + lt.Minute()
	for _, r := range h.weekly[lt.Weekday()] {
		if m >= r[0] && m < r[1] {
			return true
		}
	}
	return false
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
		for _, r := range h.weekly[day.Weekday()] {
			// The first range start after t (t itself is closed). A start that falls in a
			// daylight-saving gap moves forward; Open checks it is still inside the range.
			start := time.Date(day.Year(), day.Month(), day.Day(), r[0]/60, r[0]%60, 0, 0, h.loc)
			if start.After(t) && h.Open(start) {
				return start, true
			}
		}
	}
	return time.Time{}, false
}

// InHours reports whether the schedule is open at t. A schedule that does not compile is
// never open (config.Validate reports it at start-up).
func InHours(s config.Schedule, t time.Time) bool {
	h, err := NewHours(s)
	return err == nil && h.Open(t)
}

// NextOpen is t if the schedule is open then, else when it next opens (see Hours.NextOpen).
func NextOpen(s config.Schedule, t time.Time) (time.Time, bool) {
	h, err := NewHours(s)
	if err != nil {
		return time.Time{}, false
	}
	return h.NextOpen(t)
}
