package dashboard

import (
	"time"

	"github.com/hotline-cc/hotline/acd"
	"github.com/hotline-cc/hotline/customers"
	"github.com/hotline-cc/hotline/reports"
	"github.com/hotline-cc/hotline/schedule"
)

// The sample configuration (config/hotline.sample.yaml) as the dashboard, the distributor
// and the store receive it from the wiring: the tests run against the demo queues, agents
// and office hours. center's end-to-end tests run the dashboard on the file itself.

type sampleQueue struct {
	name                       string
	serviceLevel, shortAbandon time.Duration
}

var sampleQueues = []sampleQueue{
	{"support", 20 * time.Second, 5 * time.Second},
	{"sales", 30 * time.Second, 5 * time.Second},
	{"billing", 30 * time.Second, 5 * time.Second},
}

const sampleWrapUp = 10 * time.Second

var sampleAgents = []acd.AgentConfig{
	{ID: "1001", Name: "Alice", Skills: map[string]int{"support": 5, "sales": 3, "billing": 2}, Queues: []string{"support", "sales", "billing"}},
	{ID: "1002", Name: "Bo", Skills: map[string]int{"support": 4, "billing": 5}, Queues: []string{"support", "billing"}},
	{ID: "1003", Name: "Chen", Skills: map[string]int{"sales": 5, "support": 2}, Queues: []string{"sales", "support"}},
}

var sampleOffice = schedule.Schedule{
	TimeZone: "Asia/Shanghai",
	Weekly: map[string][]string{"mon": {"09:00-18:00"}, "tue": {"09:00-18:00"}, "wed": {"09:00-18:00"},
		"thu": {"09:00-18:00"}, "fri": {"09:00-18:00"}, "sat": {"10:00-16:00"}},
	Holidays: []string{"2026-10-01", "2027-01-01"},
}

// sampleACD is the distributor's view of the sample's queues and agents.
func sampleACD() acd.Config {
	var out acd.Config
	for _, q := range sampleQueues {
		out.Queues = append(out.Queues, acd.QueueConfig{Name: q.name, ServiceLevel: q.serviceLevel, ShortAbandon: q.shortAbandon, WrapUp: sampleWrapUp})
	}
	out.Agents = append(out.Agents, sampleAgents...)
	return out
}

// sampleStore is the sample's customer store in dataDir, at dsn ("" = SQLite there).
func sampleStore(dsn, dataDir string) customers.Config {
	sched := map[string]schedule.Schedule{}
	for _, q := range sampleQueues {
		sched[q.name] = sampleOffice
	}
	return customers.Config{
		DSN: dsn, DataDir: dataDir,
		Callbacks: &customers.CallbackPolicy{
			Region: "CN", Allowed: []string{"+86"}, Denied: []string{"+86168", "+86900"},
			PerNumber: customers.Rate{Count: 3, Per: time.Hour}, PerCaller: customers.Rate{Count: 10, Per: 24 * time.Hour},
			MaxAttempts: 3, Backoff: 10 * time.Minute,
		},
		Schedules: sched,
		Retention: 90 * 24 * time.Hour,
	}
}

// sampleOptions are the dashboard options the sample gives, with data in dataDir.
func sampleOptions(dataDir string) Options {
	o := Options{DataDir: dataDir, Addr: "127.0.0.1:0", Rules: map[string]reports.Rules{}, Members: map[string][]string{}}
	for _, q := range sampleQueues {
		o.Rules[q.name] = reports.Rules{ServiceLevel: q.serviceLevel, ShortAbandon: q.shortAbandon, WrapUp: sampleWrapUp}
	}
	for _, a := range sampleAgents {
		o.Members[a.ID] = a.Queues
	}
	return o
}
