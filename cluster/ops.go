package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hotline-cc/hotline/acd"
)

// The operations of the stream: one per mutating method of acd.Engine, and gone.
const (
	opEnqueue         = "enqueue"
	opAbandon         = "abandon"
	opConvert         = "convert"
	opAnswered        = "answered"
	opOfferFailed     = "offer-failed"
	opHangup          = "hangup"
	opTick            = "tick"
	opLogin           = "login"
	opLogout          = "logout"
	opPause           = "pause"
	opUnpause         = "unpause"
	opEndWrapUp       = "end-wrap-up"
	opOfferTransfer   = "offer-transfer"
	opOfferConsult    = "offer-consult"
	opTransferToQueue = "transfer-to-queue"
	opTransferAway    = "transfer-away"
	opHold            = "hold"
	opCompleteConsult = "complete-consult"
	opEndConsult      = "end-consult"
	opCancelTransfer  = "cancel-transfer"
	opRestore         = "restore"
	opGone            = "gone" // an incarnation stopped: its calls leave
)

// args are an entry's arguments; each operation uses some.
type args struct {
	Call   *acd.Call      `json:"call,omitempty"`
	ID     string         `json:"id,omitempty"`
	Agent  string         `json:"agent,omitempty"`
	Queue  string         `json:"queue,omitempty"`
	Queues []string       `json:"queues,omitempty"`
	Reason string         `json:"reason,omitempty"`
	Flag   bool           `json:"flag,omitempty"`
	State  *acd.State     `json:"state,omitempty"`
	Node   string         `json:"node,omitempty"`
	Miss   acd.MissReason `json:"miss,omitempty"`
}

// propose appends an entry and waits until this node has applied it; it returns this node's
// share of the actions and the error of the operation.
func (r *Replica) propose(op string, a args) ([]acd.Action, error) {
	if p := r.failed.Load(); p != nil {
		return nil, *p
	}
	body, err := json.Marshal(a)
	if err != nil {
		return nil, err
	}
	seq := r.seq.Add(1)
	ch := make(chan result, 1)
	r.wmu.Lock()
	r.waiters[seq] = ch
	r.wmu.Unlock()
	drop := func() {
		r.wmu.Lock()
		delete(r.waiters, seq)
		r.wmu.Unlock()
	}
	// The append runs on its own goroutine, so that the request gives up after Timeout even
	// when Redis does not answer (go-redis bounds a command by its client's timeouts, not by
	// a context's deadline, unless ContextTimeoutEnabled). Its reply is waited for too, so that
	// a request is done with its connection when it returns.
	added := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), r.cfg.Timeout)
		defer cancel()
		added <- addScript.Run(ctx, r.rdb, []string{r.keys.log, r.keys.epoch, r.keys.count}, r.epText,
			r.ep.ID, r.inc, strconv.FormatUint(seq, 10), strconv.FormatInt(r.cfg.Clock.Now().UnixNano(), 10), op, body).Err()
	}()
	timer := time.NewTimer(r.cfg.Timeout)
	defer timer.Stop()
	for {
		select {
		case res := <-ch:
			if added != nil { // the append's reply is on its way (Redis sent it first)
				select {
				case <-added:
				case <-timer.C:
				}
			}
			return res.acts, res.err
		case err := <-added:
			if err == nil {
				added = nil // appended: wait for it to be applied
				continue
			}
			drop()
			if strings.HasPrefix(err.Error(), "EPOCH") {
				err := fmt.Errorf("%w: the site's epoch is no longer this node's (%s): the shared state was reset (Redis restarted empty?); restart this node", ErrUnavailable, r.ep.ID)
				if r.failed.CompareAndSwap(nil, &err) {
					r.log.Error("shared distributor lost", "error", err)
				}
				return nil, err
			}
			return nil, fmt.Errorf("%w: %s: %v", ErrUnavailable, op, err)
		case <-timer.C:
			drop()
			select {
			case res := <-ch: // applied just now
				return res.acts, res.err
			default:
			}
			// It may still be applied: what it asks of this node then goes to the sink.
			return nil, fmt.Errorf("%w: %s not applied within %v", ErrUnavailable, op, r.cfg.Timeout)
		}
	}
}

// apply applies one entry of the stream to the replica and hands this node its actions.
// Only the goroutine that reads the stream calls it (Open's catch-up, then Run).
func (r *Replica) apply(m redis.XMessage) {
	r.lastID = m.ID
	defer r.applied.Add(1) // once its actions are handed over
	str := func(k string) string { s, _ := m.Values[k].(string); return s }
	if e := str("e"); e != r.ep.ID {
		err := fmt.Errorf("%w: the stream holds entries of another epoch (%q, this node's is %q): the shared state was reset (Redis restarted empty?); restart this node", ErrUnavailable, e, r.ep.ID)
		if r.failed.CompareAndSwap(nil, &err) {
			r.log.Error("shared distributor lost", "error", err)
		}
		return
	}
	// Each entry carries its number in the epoch: one that does not follow the last applied
	// means entries were trimmed away before this node read them (it fell behind the
	// checkpoints); applying on would diverge.
	if n, err := strconv.ParseUint(str("n"), 10, 64); err == nil && n != r.applied.Load()+1 {
		if err := r.errBehind(); r.failed.CompareAndSwap(nil, &err) {
			r.log.Error("shared distributor lost", "error", err, "entry", n, "applied", r.applied.Load())
		}
		return
	}
	proposer, op := str("p"), str("o")
	seq, _ := strconv.ParseUint(str("s"), 10, 64)
	ns, _ := strconv.ParseInt(str("t"), 10, 64)
	var a args
	if err := json.Unmarshal([]byte(str("a")), &a); err != nil {
		r.log.Error("unreadable entry in the shared distributor's stream", "id", m.ID, "error", err)
		return
	}
	r.clk.at.Store(max(ns, 1))
	acts, err := r.do(proposer, op, a)
	r.clk.at.Store(0)
	mine := r.route(acts)
	r.tidy(op, a, acts)
	if proposer == r.inc {
		// The result is handed over under the lock, so that a proposer giving up at this
		// moment either finds it or is no longer waiting (and it goes to the sink).
		r.wmu.Lock()
		ch := r.waiters[seq]
		delete(r.waiters, seq)
		if ch != nil {
			ch <- result{acts: mine, err: err}
		}
		r.wmu.Unlock()
		if ch != nil {
			return
		}
	}
	// Even with nothing for this node: the entry may have moved the distributor's next
	// deadline, and the sink's owner sleeps until it (the waiting room ticks at it).
	if sink := r.sink.Load(); sink != nil && *sink != nil {
		(*sink)(mine)
	}
}

// do applies one operation to the distributor.
func (r *Replica) do(proposer, op string, a args) ([]acd.Action, error) {
	d := r.d
	if op != opRestore {
		// The site's state is live: saved states no longer seed it (a node that joins
		// later, or restarts, brings its store's states; the site's own are newer).
		r.bootstrapped = true
	}
	switch op {
	case opEnqueue:
		if a.Call == nil {
			return nil, errors.New("cluster: enqueue without a call")
		}
		r.omu.Lock()
		prev, had := r.owners[a.Call.ID]
		r.owners[a.Call.ID] = proposer
		r.omu.Unlock()
		acts, err := d.Enqueue(*a.Call)
		if err != nil { // e.g. already queued: it keeps its owner
			r.omu.Lock()
			if had {
				r.owners[a.Call.ID] = prev
			} else {
				delete(r.owners, a.Call.ID)
			}
			r.omu.Unlock()
		}
		return acts, err
	case opAbandon:
		return d.Abandon(a.ID)
	case opConvert:
		return d.ConvertToCallback(a.ID)
	case opAnswered:
		return d.Answered(a.ID, a.Agent)
	case opOfferFailed:
		return d.OfferFailed(a.ID, a.Agent, a.Miss)
	case opHangup:
		return d.Hangup(a.ID)
	case opTick:
		return d.Tick(), nil
	case opLogin:
		return d.Login(a.Agent, a.Queues...)
	case opLogout:
		return d.Logout(a.Agent)
	case opPause:
		return d.Pause(a.Agent, a.Reason)
	case opUnpause:
		return d.Unpause(a.Agent)
	case opEndWrapUp:
		return d.EndWrapUp(a.Agent)
	case opOfferTransfer:
		return d.OfferTransfer(a.ID, a.Agent)
	case opOfferConsult:
		return d.OfferConsult(a.ID, a.Agent)
	case opTransferToQueue:
		return d.TransferToQueue(a.ID, a.Queue, a.Flag)
	case opTransferAway:
		return d.TransferAway(a.ID)
	case opHold:
		return d.Hold(a.ID, a.Flag)
	case opCompleteConsult:
		return d.CompleteConsult(a.ID)
	case opEndConsult:
		return d.EndConsult(a.Agent)
	case opCancelTransfer:
		return d.CancelTransfer(a.ID)
	case opRestore:
		if r.bootstrapped || a.State == nil {
			return nil, nil // saved states seed the site once per epoch, before anything else
		}
		r.bootstrapped = true
		// The restored calls are the proposer's: it restored them from its saved state.
		var ids []string
		for _, c := range a.State.Calls {
			ids = append(ids, c.Call.ID)
		}
		for _, ag := range a.State.Agents {
			if ag.Call != nil && ag.Call.HungUpAt.IsZero() {
				ids = append(ids, ag.Call.Call.ID)
			}
		}
		r.omu.Lock()
		for _, id := range ids {
			r.owners[id] = proposer
		}
		r.omu.Unlock()
		acts, err := d.Restore(*a.State)
		for _, id := range ids { // those it did not take
			if _, ok := d.CallStatus(id); !ok {
				r.omu.Lock()
				delete(r.owners, id)
				r.omu.Unlock()
			}
		}
		return acts, err
	case opGone:
		return r.gone(a.Node)
	}
	return nil, fmt.Errorf("cluster: unknown operation %q", op)
}

// gone ends the calls an incarnation owned: waiting ones as abandoned, conversations as
// hung up (their agents go on to wrap-up).
func (r *Replica) gone(inc string) ([]acd.Action, error) {
	r.omu.Lock()
	var ids []string
	for id, o := range r.owners {
		if o == inc {
			ids = append(ids, id)
		}
	}
	r.omu.Unlock()
	slices.Sort(ids) // the same order on every node
	var acts []acd.Action
	for _, id := range ids {
		st, ok := r.d.CallStatus(id)
		var more []acd.Action
		switch {
		case !ok:
		case st.State == acd.CallConnected:
			more, _ = r.d.Hangup(id)
		default:
			more, _ = r.d.Abandon(id)
		}
		acts = append(acts, more...)
		r.omu.Lock()
		delete(r.owners, id)
		r.omu.Unlock()
	}
	r.omu.Lock()
	for id, o := range r.wrapping {
		if o == inc {
			delete(r.wrapping, id)
		}
	}
	r.omu.Unlock()
	if inc == r.inc {
		r.log.Error("this node was declared gone by the site: its calls left the shared distributor")
	}
	return acts, nil
}

// callOf is the call an action concerns, "" for none.
func callOf(a acd.Action) string {
	switch a := a.(type) {
	case acd.Offer:
		return a.CallID
	case acd.CancelOffer:
		return a.CallID
	case acd.Announce:
		return a.CallID
	case acd.OfferCallback:
		return a.CallID
	case acd.Overflowed:
		return a.CallID
	case acd.Timeout:
		return a.CallID
	}
	return ""
}

// route picks this node's share of an entry's actions: those about the calls it owns, and
// every agent state change (each node shows the whole site).
func (r *Replica) route(acts []acd.Action) []acd.Action {
	var mine []acd.Action
	r.omu.Lock()
	defer r.omu.Unlock()
	for _, a := range acts {
		if id := callOf(a); id == "" || r.owners[id] == r.inc {
			mine = append(mine, a)
		}
	}
	return mine
}

// tidy forgets the owners of calls that left the distributor with this entry. A call leaves
// only by the requests listed here, a Timeout, or a node gone (gone forgets its calls itself);
// a sweep of every owner would cost a look-up of each waiting call.
func (r *Replica) tidy(op string, a args, acts []acd.Action) {
	var ids []string
	switch op {
	case opAbandon, opHangup, opTransferAway, opCompleteConsult, opCancelTransfer:
		ids = append(ids, a.ID)
	}
	for _, act := range acts {
		if t, ok := act.(acd.Timeout); ok {
			ids = append(ids, t.CallID)
		}
	}
	// A call hung up while its agent goes on to wrap-up is still observed when the wrap-up
	// ends (its handle sample).
	wraps := false
	for _, act := range acts {
		if c, ok := act.(acd.AgentStateChanged); ok && c.To == acd.WrapUp {
			wraps = true
		}
	}
	for _, id := range ids {
		if _, ok := r.d.CallStatus(id); !ok {
			r.omu.Lock()
			if o, had := r.owners[id]; had && wraps && op != opAbandon {
				r.wrapping[id] = o
			}
			delete(r.owners, id)
			r.omu.Unlock()
		}
	}
}

// ---- acd.Engine ----

func (r *Replica) Enqueue(c acd.Call) ([]acd.Action, error) {
	c.Skills = slices.Clone(c.Skills)
	if c.ArrivedAt.IsZero() { // "now" is the proposer's, not the time the entry is applied
		c.ArrivedAt = r.cfg.Clock.Now()
	}
	return r.propose(opEnqueue, args{Call: &c})
}
func (r *Replica) Abandon(id string) ([]acd.Action, error) {
	return r.propose(opAbandon, args{ID: id})
}
func (r *Replica) ConvertToCallback(id string) ([]acd.Action, error) {
	return r.propose(opConvert, args{ID: id})
}
func (r *Replica) Answered(id, agent string) ([]acd.Action, error) {
	return r.propose(opAnswered, args{ID: id, Agent: agent})
}
func (r *Replica) OfferFailed(id, agent string, why acd.MissReason) ([]acd.Action, error) {
	return r.propose(opOfferFailed, args{ID: id, Agent: agent, Miss: why})
}
func (r *Replica) Hangup(id string) ([]acd.Action, error) {
	return r.propose(opHangup, args{ID: id})
}

// Tick proposes a tick when a deadline of this node's copy has passed (several nodes may;
// the later ticks find nothing due).
func (r *Replica) Tick() []acd.Action {
	if next, ok := r.d.NextDeadline(); !ok || r.cfg.Clock.Now().Before(next) {
		return nil
	}
	acts, err := r.propose(opTick, args{})
	if err != nil {
		r.log.Warn("tick", "error", err)
	}
	return acts
}
func (r *Replica) NextDeadline() (time.Time, bool) { return r.d.NextDeadline() }
func (r *Replica) Login(agent string, queues ...string) ([]acd.Action, error) {
	return r.propose(opLogin, args{Agent: agent, Queues: queues})
}
func (r *Replica) Logout(agent string) ([]acd.Action, error) {
	return r.propose(opLogout, args{Agent: agent})
}
func (r *Replica) Pause(agent, reason string) ([]acd.Action, error) {
	return r.propose(opPause, args{Agent: agent, Reason: reason})
}
func (r *Replica) Unpause(agent string) ([]acd.Action, error) {
	return r.propose(opUnpause, args{Agent: agent})
}
func (r *Replica) EndWrapUp(agent string) ([]acd.Action, error) {
	return r.propose(opEndWrapUp, args{Agent: agent})
}
func (r *Replica) OfferTransfer(id, agent string) ([]acd.Action, error) {
	return r.propose(opOfferTransfer, args{ID: id, Agent: agent})
}
func (r *Replica) OfferConsult(id, agent string) ([]acd.Action, error) {
	return r.propose(opOfferConsult, args{ID: id, Agent: agent})
}
func (r *Replica) TransferToQueue(id, queue string, keepArrival bool) ([]acd.Action, error) {
	return r.propose(opTransferToQueue, args{ID: id, Queue: queue, Flag: keepArrival})
}
func (r *Replica) TransferAway(id string) ([]acd.Action, error) {
	return r.propose(opTransferAway, args{ID: id})
}
func (r *Replica) Hold(id string, on bool) ([]acd.Action, error) {
	return r.propose(opHold, args{ID: id, Flag: on})
}
func (r *Replica) CompleteConsult(id string) ([]acd.Action, error) {
	return r.propose(opCompleteConsult, args{ID: id})
}
func (r *Replica) EndConsult(agent string) ([]acd.Action, error) {
	return r.propose(opEndConsult, args{Agent: agent})
}
func (r *Replica) CancelTransfer(id string) ([]acd.Action, error) {
	return r.propose(opCancelTransfer, args{ID: id})
}

// Restore seeds the site with saved states, once per epoch: the first node's states are
// applied, later ones are not (the site's state is already live).
func (r *Replica) Restore(s acd.State) ([]acd.Action, error) {
	return r.propose(opRestore, args{State: &s})
}

// Reads: this node's copy.

// CheckInvariants checks this node's copy (see acd.Distributor.CheckInvariants); for tests
// and debugging.
func (r *Replica) CheckInvariants() error { return r.d.CheckInvariants() }

func (r *Replica) Snapshot() acd.State { return r.d.Snapshot() }
func (r *Replica) AgentState(agent string) (acd.AgentState, error) {
	return r.d.AgentState(agent)
}
func (r *Replica) Agents() []acd.AgentStatus { return r.d.Agents() }
func (r *Replica) Agent(agent string) (acd.AgentStatus, error) {
	return r.d.Agent(agent)
}
func (r *Replica) Position(id string) (int, time.Duration, bool) { return r.d.Position(id) }
func (r *Replica) CallStatus(id string) (acd.CallStatus, bool)   { return r.d.CallStatus(id) }
func (r *Replica) QueueStats(name string) (acd.QueueStats, bool) { return r.d.QueueStats(name) }
func (r *Replica) Queues() []acd.QueueStats                      { return r.d.Queues() }
