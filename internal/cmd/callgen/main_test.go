package main

import (
	"io"
	"strings"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/internal/callgen"
)

func TestFlagErrorsNameTheFlag(t *testing.T) {
	for _, c := range []struct{ args, want string }{
		{"-mode hold", "-mode"},
		{"-server nowhere", "-server"},
		{"-digit 12", "-digit"},
		{"-rtp-ports 40000", "-rtp-ports"},
	} {
		err := run(strings.Fields(c.args), io.Discard)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("callgen %s: %v, want an error naming %s", c.args, err, c.want)
		}
	}
}

// scripts/streams.sh and scripts/ivr.sh source these variables; a missing one breaks them.
func TestEnvVarsHoldWhatTheScriptsRead(t *testing.T) {
	r := &callgen.Report{Calls: 10, OK: 9, Failures: map[string]int{"INVITE 503": 1},
		Setup: callgen.NewHistogram(time.Millisecond, time.Second), RX: callgen.NewReception(), Elapsed: time.Second}
	env := envVars(r)
	for _, v := range []string{"calls=10", "failed=1", "retrans=0", "gaps=0", "spacing_p99_ms=0.00",
		"peak_streaming=0", "kib_per_call=0.0", "other_cpu_pct=0"} {
		if !strings.Contains(env, v+"\n") {
			t.Errorf("env lacks %q:\n%s", v, env)
		}
	}
}
