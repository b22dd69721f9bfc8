package config

import (
	"errors"
	"sort"

	"github.com/hotline-cc/hotline/schedule"
)

// CompileSchedules compiles every schedule of the file, by name, and leaves out the ones
// that do not compile. Errors are *FieldError keyed from the top of the file
// (schedules.office.weekly.mon[0]), joined.
func (c *Config) CompileSchedules() (map[string]*schedule.Hours, error) {
	names := make([]string, 0, len(c.Schedules))
	for name := range c.Schedules {
		names = append(names, name)
	}
	sort.Strings(names)
	out := map[string]*schedule.Hours{}
	var errs []error
	for _, name := range names {
		h, err := c.Schedules[name].Compile()
		if err != nil {
			for _, e := range unjoin(err) {
				var fe *schedule.FieldError
				if errors.As(e, &fe) {
					e = &FieldError{Key: "schedules." + name + "." + fe.Key, Msg: fe.Msg}
				}
				errs = append(errs, e)
			}
			continue
		}
		out[name] = h
	}
	return out, errors.Join(errs...)
}
