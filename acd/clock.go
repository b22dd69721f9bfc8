package acd

import "time"

// Clock gives the distributor its notion of now. Tests inject a fake; production uses SystemClock.
type Clock interface{ Now() time.Time }

// SystemClock is the wall clock (with its monotonic reading).
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// Rand is the source of randomness of the random strategy; *math/rand/v2.Rand satisfies it.
type Rand interface{ IntN(n int) int }
