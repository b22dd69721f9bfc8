package acd

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// countingObserver counts samples; it may be called from any goroutine.
type countingObserver struct{ waits, handles atomic.Int64 }

func (o *countingObserver) ObserveWait(WaitSample)     { o.waits.Add(1) }
func (o *countingObserver) ObserveHandle(HandleSample) { o.handles.Add(1) }

// The wiring calls the distributor from many goroutines (one per call, plus the dashboard);
// run with -race to check the locking.
func TestConcurrentCallersAgentsAndReaders(t *testing.T) {
	cfg := Config{Queues: []QueueConfig{{Name: "q", RingTimeout: time.Hour}}, Agents: agents(8, []string{"q"}, nil)}
	for i := range cfg.Agents {
		cfg.Agents[i].AutoLogin = true
	}
	obs := &countingObserver{}
	d, err := New(cfg, SystemClock{}, WithObserver(obs))
	if err != nil {
		t.Fatal(err)
	}
	var offers sync.Map // call → agent, filled from any goroutine's actions
	record := func(acts []Action) {
		for _, o := range offersIn(acts) {
			offers.Store(o.CallID, o.AgentID)
		}
	}
	const workers, perWorker = 4, 50
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				id := fmt.Sprintf("w%d-%d", w, i)
				acts, err := d.Enqueue(Call{ID: id, Queue: "q"})
				if err != nil {
					t.Error(err)
					return
				}
				record(acts)
				// Wait for our call to be offered (another goroutine's hangup may offer it).
				var agent any
				for {
					if agent, _ = offers.Load(id); agent != nil {
						break
					}
					time.Sleep(50 * time.Microsecond)
				}
				acts, err = d.Answered(id, agent.(string))
				if err != nil {
					t.Error(err)
					return
				}
				record(acts)
				acts, err = d.Hangup(id)
				if err != nil {
					t.Error(err)
					return
				}
				record(acts)
			}
		})
	}
	stop := make(chan struct{})
	var readers sync.WaitGroup
	readers.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
				d.Queues()
				d.Agents()
				d.NextDeadline()
			}
		}
	})
	wg.Wait()
	close(stop)
	readers.Wait()
	qs, _ := d.QueueStats("q")
	if n := int64(workers * perWorker); qs.Totals.Answered != n || qs.Totals.Handled != n || obs.waits.Load() != n || obs.handles.Load() != n {
		t.Fatalf("answered %d handled %d, samples %d/%d; want %d each", qs.Totals.Answered, qs.Totals.Handled, obs.waits.Load(), obs.handles.Load(), n)
	}
}
