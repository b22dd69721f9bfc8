// Package acd is hotline's automatic call distributor: queues, agents, skills, routing
// strategies, the agent state machine, waiting-time estimates and queue KPIs.
// It is pure logic on an injected Clock: it does no I/O, starts no goroutines and never calls out
// while it holds its lock; it returns Actions for the wiring to carry out.
//
// # Concurrency
//
// A Distributor is safe for concurrent use: one internal mutex guards all of its state. No
// callback runs while the mutex is held; every mutating method returns the []Action that
// resulted, in order, and the Observer (if any) is called after the mutex is released.
//
// # Time
//
// Every mutating call first brings the distributor up to Clock.Now(): due timers (ring timeouts,
// wrap-up ends, overflow, max wait, announcements, callback offers, priority aging, retry delays)
// are processed in deadline order, each at its own deadline, so the outcome does not depend on
// how late the wiring ticks. The wiring should call Tick at NextDeadline (a time.Timer reset after
// every call is enough); actions produced by timers are returned by whichever call processed them.
//
// # Routing
//
// Each queue keeps its waiting contacts in classes, one per distinct set of required skills
// (the queue's skills plus the call's). A class holds two ordered sets: its waiting entries
// (priority desc, original arrival asc, enqueue sequence asc) and its free agents (ordered by the
// queue's strategy key). Routing keeps one invariant after every call: no waiting entry has a free,
// eligible agent that it has not just missed with. So there are only two decisions:
//
//   - an entry becomes routable (arrival, miss, overflow, a cancelled offer): it takes the first
//     free agent of its class in strategy order: O(log agents);
//   - an agent becomes free (login, unpause, wrap-up end, miss): it takes the best head among the
//     classes it can serve across all the queues it is logged into, comparing priority, then the
//     original arrival time, then the enqueue sequence: O(classes × log callers). This is the
//     cross-queue fairness rule, and it is deterministic.
//
// # Agent states
//
//	logged-out → available                        Login
//	available  → reserved | paused | logged-out   offer, Pause, Logout
//	reserved   → on-call                          Answered
//	reserved   → available | paused | logged-out  miss, cancelled offer, pending pause/logout, N misses
//	on-call    → wrap-up                          Hangup (wrap-up of the queue of the call handled)
//	on-call    → available | paused | logged-out  Hangup when that queue has no wrap-up
//	wrap-up    → available | paused | logged-out  wrap-up end (its timer, or EndWrapUp: the agent
//	                                              submitted the wrap-up form), pending pause/logout
//	paused     → available | logged-out | paused  Unpause, Logout, Pause with another reason
//
// Pause and Logout asked while an agent is reserved, on a call or in wrap-up are recorded as
// pending and applied when that work ends. Any other request returns an error wrapping
// ErrInvalidTransition.
package acd
