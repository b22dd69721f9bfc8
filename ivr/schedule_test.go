package ivr

import (
	"testing"
	"time"

	"github.com/hotline-cc/hotline/config"
)

func TestScheduleRangesEndAtMidnightAndFollowTheirZone(t *testing.T) {
	s, err := NewSchedule("late", config.Schedule{TimeZone: "America/New_York",
		Weekly: map[string][]string{"fri": {"20:00-24:00"}, "sat": {"00:00-02:00"}}, Holidays: []string{"2026-12-25"}})
	if err != nil {
		t.Fatal(err)
	}
	ny, _ := time.LoadLocation("America/New_York")
	for _, c := range []struct {
		at   time.Time
		want Hours
	}{
		{time.Date(2026, 11, 27, 23, 59, 0, 0, ny), Open},      // Friday 23:59
		{time.Date(2026, 11, 28, 1, 30, 0, 0, ny), Open},       // Saturday 01:30
		{time.Date(2026, 11, 28, 2, 0, 0, 0, ny), Closed},      // Saturday 02:00 (end is exclusive)
		{time.Date(2026, 11, 28, 6, 30, 0, 0, time.UTC), Open}, // the same night, in UTC
		{time.Date(2026, 12, 25, 21, 0, 0, 0, ny), Holiday},    // a Friday, but a holiday
	} {
		if got := s.At(c.at); got != c.want {
			t.Errorf("%v: %s, want %s", c.at, got, c.want)
		}
	}
	if _, err := NewSchedule("bad", config.Schedule{TimeZone: "Mars/Olympus"}); err == nil {
		t.Error("a bad time zone was accepted")
	}
}

func TestLuhn(t *testing.T) {
	for s, want := range map[string]bool{"79927398713": true, "79927398710": false, "4111111111111111": true, "1": false, "12a4": false} {
		if luhn(s) != want {
			t.Errorf("luhn(%q) = %v", s, !want)
		}
	}
}
