package config

import (
	"testing"

	"github.com/hotline-cc/hotline/schedule"
)

func TestCompileSchedulesKeysErrorsFromTheTopOfTheFile(t *testing.T) {
	office := schedule.Schedule{
		TimeZone: "Asia/Shanghai",
		Weekly: map[string][]string{"mon": {"09:00-18:00"}, "tue": {"09:00-18:00"}, "wed": {"09:00-18:00"},
			"thu": {"09:00-18:00"}, "fri": {"09:00-18:00"}, "sat": {"10:00-16:00"}},
		Holidays: []string{"2026-10-01"},
	}
	cfg := Config{Schedules: map[string]schedule.Schedule{
		"office":  office,
		"support": {TimeZone: "UTC", Weekly: map[string][]string{"mon": {"9:00-25:00"}}},
	}}
	hours, err := cfg.CompileSchedules()
	if want := `schedules.support.weekly.mon[0]: "9:00-25:00" is not a range like 09:00-18:00`; err == nil || err.Error() != want {
		t.Errorf("error %v, want %s", err, want)
	}
	if hours["office"] == nil || hours["support"] != nil {
		t.Errorf("want the good schedule compiled and the bad one left out, got %v", hours)
	}
}
