package sip

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestThrottleKeepsTheFirstAndCountsTheRest(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(newThrottle(slog.NewTextHandler(&buf, nil), 3, time.Minute))
	for i := 0; i < 100; i++ {
		log.Error("failed to parse", "i", i)
	}
	log.Info("other message")
	if n := strings.Count(buf.String(), "failed to parse"); n != 3 {
		t.Errorf("%d copies of a flooding message got through, want 3", n)
	}
	if !strings.Contains(buf.String(), "other message") {
		t.Error("a different message was suppressed")
	}
}
