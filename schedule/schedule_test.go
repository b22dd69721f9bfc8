package schedule

import (
	"strings"
	"testing"
	"time"
)

func mustLoc(t testing.TB, name string) *time.Location {
	t.Helper()
	l, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func mustCompile(t testing.TB, s Schedule) *Hours {
	t.Helper()
	h, err := s.Compile()
	if err != nil {
		t.Fatal(err)
	}
	return h
}

var office = Schedule{
	TimeZone: "Asia/Shanghai",
	Weekly: map[string][]string{"mon": {"09:00-18:00"}, "tue": {"09:00-18:00"}, "wed": {"09:00-18:00"},
		"thu": {"09:00-18:00"}, "fri": {"09:00-18:00"}, "sat": {"10:00-16:00"}},
	Holidays: []string{"2026-10-01"},
}

func TestHoursOpenAndNextOpenAcrossTheWeek(t *testing.T) {
	shanghai := mustLoc(t, "Asia/Shanghai")
	h := mustCompile(t, office)
	at := func(y int, m time.Month, d, hh, mm int) time.Time { return time.Date(y, m, d, hh, mm, 0, 0, shanghai) }
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
		if got := h.Open(tc.t); got != tc.open {
			t.Errorf("%s: Open = %v, want %v", tc.name, got, tc.open)
		}
		next, ok := h.NextOpen(tc.t)
		if !ok || !next.Equal(tc.next) {
			t.Errorf("%s: NextOpen = %v, %v; want %v", tc.name, next, ok, tc.next)
		}
	}
	if h.Location().String() != "Asia/Shanghai" {
		t.Errorf("Location = %v, want Asia/Shanghai", h.Location())
	}
	if !h.Holiday(at(2026, 10, 1, 11, 0)) || h.Holiday(at(2026, 10, 2, 11, 0)) {
		t.Error("1 October is the listed holiday, 2 October is not")
	}
	// 23:30 UTC on 30 September is already 1 October in Shanghai.
	if !h.Holiday(time.Date(2026, 9, 30, 23, 30, 0, 0, time.UTC)) {
		t.Error("a holiday is read in the schedule's zone, not the caller's")
	}
}

func TestHoursAcrossDaylightSavingAndMidnight(t *testing.T) {
	// New York springs forward on 8 March 2026: 02:00-03:00 does not exist that night.
	ny := mustLoc(t, "America/New_York")
	h := mustCompile(t, Schedule{TimeZone: "America/New_York", Weekly: map[string][]string{"sun": {"01:00-03:00"}, "mon": {"00:00-24:00"}}})
	if h.Open(time.Date(2026, 3, 8, 3, 30, 0, 0, ny)) || !h.Open(time.Date(2026, 3, 8, 1, 59, 0, 0, ny)) {
		t.Error("on the DST day, 01:59 is inside 01:00-03:00 and 03:30 is not")
	}
	next, _ := h.NextOpen(time.Date(2026, 3, 8, 12, 0, 0, 0, ny))
	if want := time.Date(2026, 3, 9, 0, 0, 0, 0, ny); !next.Equal(want) {
		t.Errorf("DST: next open %v, want %v", next, want)
	}
	if !h.Open(time.Date(2026, 3, 9, 23, 59, 0, 0, ny)) {
		t.Error("24:00 does not reach midnight")
	}

	// A night shift split over midnight, with a holiday on a Friday.
	late := mustCompile(t, Schedule{TimeZone: "America/New_York",
		Weekly: map[string][]string{"fri": {"20:00-24:00"}, "sat": {"00:00-02:00"}}, Holidays: []string{"2026-12-25"}})
	for _, c := range []struct {
		at            time.Time
		open, holiday bool
	}{
		{time.Date(2026, 11, 27, 23, 59, 0, 0, ny), true, false},      // Friday 23:59
		{time.Date(2026, 11, 28, 1, 30, 0, 0, ny), true, false},       // Saturday 01:30
		{time.Date(2026, 11, 28, 2, 0, 0, 0, ny), false, false},       // Saturday 02:00 (end is exclusive)
		{time.Date(2026, 11, 28, 6, 30, 0, 0, time.UTC), true, false}, // the same night, in UTC
		{time.Date(2026, 12, 25, 21, 0, 0, 0, ny), false, true},       // a Friday, but a holiday
	} {
		if got := late.Open(c.at); got != c.open {
			t.Errorf("%v: Open = %v, want %v", c.at, got, c.open)
		}
		if got := late.Holiday(c.at); got != c.holiday {
			t.Errorf("%v: Holiday = %v, want %v", c.at, got, c.holiday)
		}
	}
}

func TestHoursThatNeverOpenAndNoHoursAtAll(t *testing.T) {
	if _, ok := mustCompile(t, Schedule{TimeZone: "UTC"}).NextOpen(time.Now()); ok {
		t.Error("a schedule without hours opens")
	}
	var always *Hours
	if !always.Open(time.Now()) || always.Holiday(time.Now()) {
		t.Error("no schedule should be always open and never a holiday")
	}
	if now := time.Now(); !mustNext(t, always, now).Equal(now) {
		t.Error("no schedule should be open now")
	}
}

func mustNext(t *testing.T, h *Hours, at time.Time) time.Time {
	t.Helper()
	next, ok := h.NextOpen(at)
	if !ok {
		t.Fatalf("NextOpen(%v) found nothing", at)
	}
	return next
}

// A bad schedule is refused with where and what, and every problem at once.
func TestBadSchedulesSayWhereAndWhat(t *testing.T) {
	for _, c := range []struct {
		s    Schedule
		want []string
	}{
		{Schedule{TimeZone: "Mars/Olympus"}, []string{`timezone: "Mars/Olympus" is not an IANA time zone (e.g. Asia/Shanghai)`}},
		{Schedule{}, []string{`timezone: "" is not an IANA time zone`}},
		{Schedule{TimeZone: "UTC", Weekly: map[string][]string{"mon": {"18:00-09:00"}}}, []string{`weekly.mon[0]: "18:00-09:00" is not a range like 09:00-18:00`}},
		{Schedule{TimeZone: "UTC", Weekly: map[string][]string{"mon": {"09:00-18:00", "9:00-25:00"}}}, []string{`weekly.mon[1]: "9:00-25:00" is not a range`}},
		{Schedule{TimeZone: "UTC", Weekly: map[string][]string{"mon": {"09:00-24:30"}}}, []string{`weekly.mon[0]: "09:00-24:30" is not a range`}},
		{Schedule{TimeZone: "UTC", Weekly: map[string][]string{"mon": {"09:00-09:00"}}}, []string{`weekly.mon[0]: "09:00-09:00" is not a range`}},
		{Schedule{TimeZone: "UTC", Weekly: map[string][]string{"mon": {"09:60-10:00"}}}, []string{`weekly.mon[0]: "09:60-10:00" is not a range`}},
		{Schedule{TimeZone: "UTC", Weekly: map[string][]string{"monday": {"09:00-10:00"}}}, []string{`weekly.monday: "monday" is not a day; use mon, tue, wed, thu, fri, sat, sun`}},
		{Schedule{TimeZone: "UTC", Holidays: []string{"2026-12-25", "2026-13-01"}}, []string{`holidays[1]: "2026-13-01" is not a date like 2026-12-25`}},
		{Schedule{TimeZone: "Nowhere", Weekly: map[string][]string{"sun": {"x"}}, Holidays: []string{"soon"}},
			[]string{`timezone: "Nowhere"`, `weekly.sun[0]: "x"`, `holidays[0]: "soon"`}},
	} {
		h, err := c.s.Compile()
		if err == nil || h != nil {
			t.Errorf("Compile(%+v) accepted it", c.s)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("Compile(%+v):\n%v\ndoes not contain %q", c.s, err, w)
			}
		}
	}
}

// Whatever a schedule says, Compile does not panic, and a time NextOpen gives is open.
func FuzzCompile(f *testing.F) {
	f.Add("mon", "09:00-18:00", "2026-10-01", int64(1778475600))
	f.Add("sun", "00:00-24:00", "2026-03-08", int64(1772960400))
	f.Add("fri", "23:59-24:00", "x", int64(0))
	f.Fuzz(func(t *testing.T, day, r, holiday string, unix int64) {
		h, err := Schedule{TimeZone: "America/New_York", Weekly: map[string][]string{day: {r}}, Holidays: []string{holiday}}.Compile()
		if err != nil {
			return
		}
		at := time.Unix(unix%(1<<34), 0)
		if next, ok := h.NextOpen(at); ok && (!h.Open(next) || next.Before(at)) {
			t.Errorf("NextOpen(%v) = %v, which is closed or earlier", at, next)
		}
	})
}
