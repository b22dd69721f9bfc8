package ivr

import (
	"testing"
	"time"

	"github.com/hotline-cc/hotline/config"
)

// The hours step's exits: a holiday outranks the week's hours, and a schedule that does not
// compile keeps the catalog from building, naming its key. (The schedule's own arithmetic,
// zones, DST and 24:00 are tested with config.Hours.)
func TestHoursStepExitsAndBadSchedules(t *testing.T) {
	cfg := config.Config{Schedules: map[string]config.Schedule{
		"late": {TimeZone: "America/New_York", Weekly: map[string][]string{"fri": {"20:00-24:00"}, "sat": {"00:00-02:00"}},
			Holidays: []string{"2026-12-25"}},
	}}
	cat, err := CatalogFromConfig(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
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

	cfg.Schedules["support"] = config.Schedule{TimeZone: "UTC", Weekly: map[string][]string{"mon": {"9:00-25:00"}}}
	cat, err = CatalogFromConfig(cfg, nil)
	if want := `schedules.support.weekly.mon[0]: "9:00-25:00" is not a range like 09:00-18:00`; err == nil || err.Error() != want {
		t.Errorf("error %v, want %s", err, want)
	}
	if cat.Schedules["late"] == nil || cat.Schedules["support"] != nil {
		t.Error("the good schedule should still be in the catalog, the bad one not")
	}
}

func TestLuhn(t *testing.T) {
	for s, want := range map[string]bool{"79927398713": true, "79927398710": false, "4111111111111111": true, "1": false, "12a4": false} {
		if luhn(s) != want {
			t.Errorf("luhn(%q) = %v", s, !want)
		}
	}
}
