// Package staffing answers "how many agents do we need?" with Erlang C: from a call rate, a
// handle time and a service-level target it gives the agents needed, the probability of
// waiting, the expected service level, ASA and occupancy. It is pure arithmetic: no I/O.
package staffing
