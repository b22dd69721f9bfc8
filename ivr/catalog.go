package ivr

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/hotline-cc/hotline/config"
)

// Catalog is what flows may refer to outside themselves: queues, schedules, prompt files,
// languages with a voice, and where a transfer may go. The checker resolves every name a
// flow uses against it, so a flow that names a queue the configuration lacks never loads.
type Catalog struct {
	Queues    []string
	Schedules map[string]*Schedule
	Prompts   PromptNames // nil: no prompt files (play steps are errors)
	Languages []string    // languages a call may speak; empty means en and zh
	Transfer  []string    // allowed transfer targets, as prefixes ("sip:", "+8610")
}

// PromptNames tells whether a prompt file exists; *prompts.Library implements it.
type PromptNames interface {
	Has(name string) bool
}

// CatalogFromConfig builds the catalog of a configuration: its queues, schedules, voices
// (the languages) and transfer allow-list, with prompt names from prompts.
func CatalogFromConfig(cfg config.Config, prompts PromptNames) (*Catalog, error) {
	cat := &Catalog{Schedules: map[string]*Schedule{}, Prompts: prompts, Transfer: cfg.Transfer.Allowed}
	for _, q := range cfg.Queues {
		cat.Queues = append(cat.Queues, q.Name)
	}
	var errs []error
	for name, s := range cfg.Schedules {
		sch, err := NewSchedule(name, s)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		cat.Schedules[name] = sch
	}
	for lang := range cfg.Prompts.Voices {
		cat.Languages = append(cat.Languages, lang)
	}
	sort.Strings(cat.Languages)
	return cat, errors.Join(errs...)
}

func (c *Catalog) languages() []string {
	if c == nil || len(c.Languages) == 0 {
		return []string{"en", "zh"}
	}
	return c.Languages
}

func (c *Catalog) hasQueue(name string) bool {
	for _, q := range c.Queues {
		if q == name {
			return true
		}
	}
	return false
}

func (c *Catalog) transferAllowed(to string) bool {
	for _, p := range c.Transfer {
		if p != "" && strings.HasPrefix(to, p) {
			return true
		}
	}
	return false
}

// Schedule is a named week of opening hours in a time zone, with closed holidays.
type Schedule struct {
	Name     string
	Location *time.Location
	weekly   [7][]span // by time.Weekday
	holidays map[string]bool
}

type span struct{ from, to int } // minutes since midnight, to exclusive (24:00 = 1440)

// Hours is what a schedule says about one moment.
type Hours string

const (
	Open    Hours = "open"
	Closed  Hours = "closed"
	Holiday Hours = "holiday" // a listed holiday: closed all day
)

var dayIndex = map[string]time.Weekday{"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday,
	"wed": time.Wednesday, "thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday}

// NewSchedule reads a schedule of the configuration.
func NewSchedule(name string, s config.Schedule) (*Schedule, error) {
	loc, err := time.LoadLocation(s.TimeZone)
	if err != nil || s.TimeZone == "" {
		return nil, fmt.Errorf("schedule %s: %q is not an IANA time zone", name, s.TimeZone)
	}
	sch := &Schedule{Name: name, Location: loc, holidays: map[string]bool{}}
	for day, ranges := range s.Weekly {
		wd, ok := dayIndex[day]
		if !ok {
			return nil, fmt.Errorf("schedule %s: %q is not a day", name, day)
		}
		for _, r := range ranges {
			var h1, m1, h2, m2 int
			if n, _ := fmt.Sscanf(r, "%d:%d-%d:%d", &h1, &m1, &h2, &m2); n != 4 || h1*60+m1 >= h2*60+m2 || h2*60+m2 > 1440 {
				return nil, fmt.Errorf("schedule %s: %q is not a range like 09:00-18:00", name, r)
			}
			sch.weekly[wd] = append(sch.weekly[wd], span{h1*60 + m1, h2*60 + m2})
		}
	}
	for _, h := range s.Holidays {
		if _, err := time.Parse("2006-01-02", h); err != nil {
			return nil, fmt.Errorf("schedule %s: holiday %q is not a date like 2026-12-25", name, h)
		}
		sch.holidays[h] = true
	}
	return sch, nil
}

// At says whether the schedule is open at t (read in the schedule's time zone).
func (s *Schedule) At(t time.Time) Hours {
	lt := t.In(s.Location)
	if s.holidays[lt.Format("2006-01-02")] {
		return Holiday
	}
	m := lt.Hour()*60 + lt.Minute()
	for _, sp := range s.weekly[lt.Weekday()] {
		if m >= sp.from && m < sp.to {
			return Open
		}
	}
	return Closed
}
