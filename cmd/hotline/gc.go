package main

import (
	"os"
	"runtime/debug"
)

// defaultGCPercent is the garbage collector's target for hotline serve when GOGC is not set:
// between collections the heap grows to 1.5 times what is live, not Go's default of twice.
// A busy hotline's live heap is mostly its calls (their SIP dialogs and transactions, media
// sessions and flow state), so the headroom is paid per call: at 400 IVR calls/s
// (scripts/ivr.sh) GOGC=100 kept 87 KiB of RSS per live call and 50 kept 67 KiB, for the
// same server CPU (66 % and 65 % of the core). docs/deploy.md says how to set another.
const defaultGCPercent = 50

// tuneGC sets defaultGCPercent unless the operator chose one with GOGC.
func tuneGC() {
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(defaultGCPercent)
	}
}
