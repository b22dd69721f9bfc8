package acd_test

import (
	"fmt"
	"time"

	"github.com/hotline-cc/hotline/acd"
	"github.com/hotline-cc/hotline/internal/fakeclock"
)

// A caller is queued, offered to the agent, answered and hung up; the wiring carries out the
// actions each call returns.
func Example() {
	clk := fakeclock.New(time.Date(2025, 3, 3, 9, 0, 0, 0, time.UTC)) // time stands still until the example moves it
	d, err := acd.New(acd.Config{
		Queues: []acd.QueueConfig{{Name: "support", WrapUp: 30 * time.Second}},
		Agents: []acd.AgentConfig{{ID: "ann", Queues: []string{"support"}, AutoLogin: true}},
	}, clk)
	if err != nil {
		panic(err)
	}
	show := func(acts []acd.Action, err error) {
		if err != nil {
			fmt.Println("error:", err)
		}
		for _, a := range acts {
			switch a := a.(type) {
			case acd.Offer:
				fmt.Printf("ring %s for %s (%v)\n", a.AgentID, a.CallID, a.RingTimeout)
			case acd.AgentStateChanged:
				fmt.Printf("agent %s: %s → %s\n", a.AgentID, a.From, a.To)
			}
		}
	}
	show(d.Enqueue(acd.Call{ID: "call-1", Queue: "support", CustomerID: "cust-42"}))
	clk.Advance(4 * time.Second)
	show(d.Answered("call-1", "ann"))
	clk.Advance(3 * time.Minute)
	show(d.Hangup("call-1"))
	if at, ok := d.NextDeadline(); ok {
		clk.Set(at)
		show(d.Tick(), nil)
	}
	qs, _ := d.QueueStats("support")
	fmt.Printf("answered %d, ASA %.0fs, AHT %.0fs\n", qs.Totals.Answered, qs.TotalKPIs.ASA, qs.TotalKPIs.AHT)
	// Output:
	// agent ann: available → reserved
	// ring ann for call-1 (15s)
	// agent ann: reserved → on-call
	// agent ann: on-call → wrap-up
	// agent ann: wrap-up → available
	// answered 1, ASA 4s, AHT 210s
}
