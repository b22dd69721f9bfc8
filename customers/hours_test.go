package customers

import (
	"testing"
	"time"

	"github.com/hotline-cc/hotline/config"
)

func TestHours(t *testing.T) {
	at := func(y int, m time.Month, d, h, min int) time.Time { return time.Date(y, m, d, h, min, 0, 0, shanghai) }
	for _, tc := range []struct {
		name string
		t    time.Time
		open bool
		next time.Time
	}{
		{"monday morning", at(2026, 5, 11, 9, 0), true, at(2026, 5, 11, 9, 0)},
		{"monday 17:59", at(2026, 5, 11, 17, 59), true, at(2026, 5, 11, 17, 59)},
		{"monday 18:00 closes", at(2026, 5, 11, 18, 0), false, at(2026, 5, 12, 9, 0)},
		{"before opening", at(2026, 5, 12, 6, 30), false, at(2026, 5, 12, 9, 0)},
		{"saturday short day", at(2026, 5, 16, 9, 30), false, at(2026, 5, 16, 10, 0)},
		{"saturday evening to monday", at(2026, 5, 16, 16, 0), false, at(2026, 5, 18, 9, 0)},
		{"holiday", at(2026, 10, 1, 11, 0), false, at(2026, 10, 2, 9, 0)},
		// The same instant in UTC is read in the schedule's zone: 01:30 UTC is 09:30 in Shanghai.
		{"utc input", time.Date(2026, 5, 11, 1, 30, 0, 0, time.UTC), true, time.Date(2026, 5, 11, 1, 30, 0, 0, time.UTC)},
	} {
		if got := InHours(office, tc.t); got != tc.open {
			t.Errorf("%s: InHours = %v, want %v", tc.name, got, tc.open)
		}
		next, ok := NextOpen(office, tc.t)
		if !ok || !next.Equal(tc.next) {
			t.Errorf("%s: NextOpen = %v, %v; want %v", tc.name, next, ok, tc.next)
		}
	}
	// Across a daylight-saving change: New York springs forward on 8 March 2026.
	ny := config.Schedule{TimeZone: "America/New_York", Weekly: map[string][]string{"sun": {"01:00-03:00"}, "mon": {"00:00-24:00"}}}
	h, err := NewHours(ny)
	if err != nil {
		t.Fatal(err)
	}
	nyLoc := mustLoc("America/New_York")
	if h.Open(time.Date(2026, 3, 8, 3, 30, 0, 0, nyLoc)) || !h.Open(time.Date(2026, 3, 8, 1, 59, 0, 0, nyLoc)) {
		t.Error("on the DST day, 01:59 is inside 01:00-03:00 and 03:30 is not")
	}
	next, _ := h.NextOpen(time.Date(2026, 3, 8, 12, 0, 0, 0, nyLoc))
	if want := time.Date(2026, 3, 9, 0, 0, 0, 0, nyLoc); !next.Equal(want) {
		t.Errorf("DST: next open %v, want %v", next, want)
	}
	if !h.Open(time.Date(2026, 3, 9, 23, 59, 0, 0, nyLoc)) {
		t.Error("24:00 does not reach midnight")
	}
	// A schedule that never opens says so; a nil schedule is always open.
	if _, ok := NextOpen(config.Schedule{TimeZone: "UTC"}, time.Now()); ok {
		t.Error("a schedule without hours opens")
	}
	var always *Hours
	if !always.Open(time.Now()) {
		t.Error("no schedule should be always open")
	}
	for _, bad := range []config.Schedule{{TimeZone: "Mars/Olympus"}, {TimeZone: "UTC", Weekly: map[string][]string{"mon": {"18:00-09:00"}}},
		{TimeZone: "UTC", Weekly: map[string][]string{"monday": {"09:00-10:00"}}}, {TimeZone: "UTC", Holidays: []string{"2026-13-01"}}} {
		if _, err := NewHours(bad); err == nil {
			t.Errorf("NewHours(%+v) accepted it", bad)
		}
		if InHours(bad, time.Now()) {
			t.Errorf("an invalid schedule %+v is open", bad)
		}
	}
}
