package ivr

import (
	"testing"
	"time"

	"github.com/hotline-cc/hotline/schedule"
)

// The hours step's exits: a holiday outranks the week's hours. (The schedule's own
// arithmetic, zones, DST and 24:00 are tested in package schedule; that a schedule which
// does not compile keeps the catalog from building, naming its key, is tested with the
// wiring in cmd/hotline.)
func TestHoursStepExits(t *testing.T) {
	late, err := schedule.Schedule{TimeZone: "America/New_York", Weekly: map[string][]string{"fri": {"20:00-24:00"}, "sat": {"00:00-02:00"}},
		Holidays: []string{"2026-12-25"}}.Compile()
	if err != nil {
		t.Fatal(err)
	}
	cat := &Catalog{Schedules: map[string]*schedule.Hours{"late": late}}
	ny, _ := time.LoadLocation("America/New_York")
	for _, c := range []struct {
		at   time.Time
		want Hours
	}{
		{time.Date(2026, 11, 27, 23, 59, 0, 0, ny), Open},      // Friday 23:59
		{time.Date(2026, 11, 28, 6, 30, 0, 0, time.UTC), Open}, // Saturday 01:30 in New York
		{time.Date(2026, 11, 28, 2, 0, 0, 0, ny), Closed},      // Saturday 02:00 (end is exclusive)
		{time.Date(2026, 12, 25, 21, 0, 0, 0, ny), Holiday},    // a Friday evening, but a holiday
		{time.Date(2026, 12, 25, 9, 0, 0, 0, ny), Holiday},     // closed hours on a holiday are a holiday too
	} {
		if got := hoursAt(cat.Schedules["late"], c.at); got != c.want {
			t.Errorf("%v: %s, want %s", c.at, got, c.want)
		}
	}
}

func TestLuhn(t *testing.T) {
	for s, want := range map[string]bool{"79927398713": true, "79927398710": false, "4111111111111111": true, "1": false, "12a4": false} {
		if luhn(s) != want {
			t.Errorf("luhn(%q) = %v", s, !want)
		}
	}
}
