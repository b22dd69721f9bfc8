package acd_test

import (
	"testing"

	"github.com/hotline-cc/hotline/acd/acdtest"
)

// The property test (package acdtest) drives random sequences of requests over random
// configurations and checks after every step the distributor's invariants and that the actions
// it returned form a consistent protocol for the wiring. The shared engine (package cluster)
// runs the same sequences.

func TestPropertyRandomOperationsKeepInvariants(t *testing.T) {
	sequences, steps := 2000, 100
	if testing.Short() {
		sequences = 300
	}
	acdtest.Run(t, acdtest.Memory, sequences, steps)
}

func TestPropertySameSeedSameDecisions(t *testing.T) {
	for s := range 50 {
		a, err1 := acdtest.Sequence(t, acdtest.Memory, uint64(s), 200)
		b, err2 := acdtest.Sequence(t, acdtest.Memory, uint64(s), 200)
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		if d := acdtest.Diff(a, b); d != "" {
			t.Fatalf("seed %d: two runs diverged: %s", s, d)
		}
	}
}

// The distributor's scenario tests (package acdtest), which the shared engine runs too.
func TestScenarios(t *testing.T) {
	acdtest.Scenarios(t, acdtest.Memory)
}
