package reports

import (
	"context"
	"fmt"
	"time"

	"github.com/hotline-cc/hotline/acd"
)

// HourOfWeek is a queue's stored traffic in one hour of the week, averaged over whole weeks.
type HourOfWeek struct {
	Weekday      time.Weekday
	Hour         int // 0..23, local time
	Weeks        int
	Offered      int64         // callers offered in this hour over all the weeks
	CallsPerHour float64       // Offered / Weeks
	AHT          time.Duration // of the contacts handled in this hour; the range's AHT when none were
}

// MaxWeeks bounds a traffic history.
const MaxWeeks = 52

// Traffic is the offered traffic of a queue per hour of the week over the `weeks` whole weeks
// before today (local midnight of now's day in loc), Monday 00:00 first, for Erlang C staffing.
func Traffic(ctx context.Context, src Source, rules map[string]Rules, queue string, weeks int, now time.Time, loc *time.Location) ([]HourOfWeek, error) {
	if weeks < 1 || weeks > MaxWeeks {
		return nil, fmt.Errorf("%w: weeks %d: use 1 to %d", ErrInvalid, weeks, MaxWeeks)
	}
	if queue == "" {
		return nil, fmt.Errorf("%w: queue is required", ErrInvalid)
	}
	if loc == nil {
		loc = time.Local
	}
	n := now.In(loc)
	to := time.Date(n.Year(), n.Month(), n.Day(), 0, 0, 0, 0, loc)
	from := time.Date(n.Year(), n.Month(), n.Day()-7*weeks, 0, 0, 0, 0, loc)
	r, err := Compute(ctx, src, rules, Query{Queues: []string{queue}, From: from, To: to, Interval: Hour, Location: loc})
	if err != nil {
		return nil, err
	}
	var by [7][24]acd.Counters
	for _, row := range r.Rows {
		s := row.Start.In(loc)
		by[s.Weekday()][s.Hour()].Add(row.Counters)
	}
	all := r.Totals[0].Counters
	out := make([]HourOfWeek, 0, 168)
	for i := 0; i < 7; i++ {
		wd := time.Weekday((i + 1) % 7) // Monday first
		for h := 0; h < 24; h++ {
			c := by[wd][h]
			hw := HourOfWeek{Weekday: wd, Hour: h, Weeks: weeks, Offered: c.Offered, CallsPerHour: float64(c.Offered) / float64(weeks)}
			if aht, ok := c.AverageHandleTime(); ok {
				hw.AHT = aht
			} else if aht, ok := all.AverageHandleTime(); ok {
				hw.AHT = aht
			}
			out = append(out, hw)
		}
	}
	return out, nil
}
