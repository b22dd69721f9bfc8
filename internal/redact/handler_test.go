package redact

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func newTestLogger(opts Options) (*slog.Logger, *bytes.Buffer) {
	var buf bytes.Buffer
	return slog.New(NewHandler(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}), opts)), &buf
}

// Everything a log line can carry a number, an address or a secret in, as the code base logs
// them: keyed attributes, free text, the message, errors, groups, With, string slices.
func TestHandlerMasks(t *testing.T) {
	log, buf := newTestLogger(Options{Secrets: []string{"s3cret-ari", "tok_abcdef123", "ab"}})
	log = log.With("component", "sip", "caller", "+4930123456")
	log.Info("inbound call from +4930123499",
		"call", "4930123477@10.0.0.1", // a Call-ID that is all digits: an ID, left alone
		"dialed", "+8610123456",
		"number", "07700 900 123",
		"to", "agent:1001",
		"target", "sip:+4930123466@trunk.example",
		"endpoint", "PJSIP/+4930123455@trunk",
		"args", []string{"inbound", "+4930123444"},
		"email", "jane.doe@example.com",
		"digit", "7",
		"password", "hunter22",
		"phone", int64(4930123433),
		"error", fmt.Errorf("callback to +4930123422: %w", errors.New("busy")),
		"reason", "GET ws://h/ari/events?api_key=hotline:s3cret-ari failed",
		"auth", "token tok_abcdef123 refused",
		slog.Group("customer", "number", "+4930123411", "name", "Jane"),
		"agent", "1001", "port", 5060, "took", 20*time.Second, "ab", "ab stays: too short to be a secret",
	)
	out := buf.String()
	for _, leak := range []string{"4930123456", "4930123499", "8610123456", "07700 900 123", "4930123466", "4930123455",
		"4930123444", "jane.doe", "hunter22", "4930123433", "4930123422", "4930123411", "s3cret-ari", "tok_abcdef123"} {
		if strings.Contains(out, leak) {
			t.Errorf("%q is in the log line: %s", leak, out)
		}
	}
	for _, want := range []string{`"caller":"***3456"`, `"msg":"inbound call from ***3499"`, `"call":"4930123477@10.0.0.1"`,
		`"dialed":"***3456"`, `"number":"***0123"`, `"to":"agent:1001"`, `"target":"sip:***3466@trunk.example"`,
		`"endpoint":"PJSIP/***3455@trunk"`, `"args":["inbound","***3444"]`, `"email":"j***@example.com"`,
		`"digit":"[hidden]"`, `"password":"[secret]"`, `"phone":"***3433"`, `"error":"callback to ***3422: busy"`,
		`api_key=***`, `"auth":"token [secret] refused"`, `"customer":{"number":"***3411","name":"Jane"}`,
		`"agent":"1001"`, `"port":5060`, `"took":20000000000`, `"ab":"ab stays`} {
		if !strings.Contains(out, want) {
			t.Errorf("log line lacks %s: %s", want, out)
		}
	}
}

// log.full_numbers: numbers as they are, everything else still masked.
func TestHandlerFullNumbers(t *testing.T) {
	log, buf := newTestLogger(Options{FullNumbers: true, Secrets: []string{"s3cret-ari"}})
	log.WithGroup("call").Info("from +4930123456", "caller", "+4930123456", "email", "jane@example.com",
		"digits", "4111111111111111", "error", errors.New("ari: s3cret-ari"))
	out := buf.String()
	for _, want := range []string{`"msg":"from +4930123456"`, `"call":{"caller":"+4930123456"`, `"email":"j***@example.com"`,
		`"digits":"[hidden]"`, `"error":"ari: [secret]"`} {
		if !strings.Contains(out, want) {
			t.Errorf("log line lacks %s: %s", want, out)
		}
	}
}

// A record with nothing to mask is written exactly as without the handler.
func TestHandlerLeavesCleanRecordsAlone(t *testing.T) {
	var plain, masked bytes.Buffer
	for _, b := range []*bytes.Buffer{&plain, &masked} {
		var h slog.Handler = slog.NewTextHandler(b, nil)
		if b == &masked {
			h = NewHandler(h, Options{Secrets: []string{"s3cret-ari"}})
		}
		l := slog.New(h).With("component", "acd")
		l.Info("offer", "call", "1795396597.4", "agent", "1001", "queue", "support", "wait", 1500*time.Millisecond,
			"error", errors.New("no answer"), slog.Group("g", "n", 3))
	}
	strip := func(s string) string { return s[strings.Index(s, " level="):] } // the times differ
	if strip(plain.String()) != strip(masked.String()) {
		t.Errorf("clean record changed:\n%s%s", plain.String(), masked.String())
	}
}

type nopHandler struct{}

func (nopHandler) Enabled(context.Context, slog.Level) bool  { return true }
func (nopHandler) Handle(context.Context, slog.Record) error { return nil }
func (h nopHandler) WithAttrs([]slog.Attr) slog.Handler      { return h }
func (h nopHandler) WithGroup(string) slog.Handler           { return h }

var typical = []slog.Attr{
	slog.String("call", "a84b4c76e66710@10.0.0.1"), slog.String("agent", "1001"), slog.String("queue", "support"),
	slog.Duration("wait", 1500*time.Millisecond), slog.Int("attempt", 2), slog.Any("error", errors.New("486 Busy Here")),
}

func TestHandlerNoAllocationWhenClean(t *testing.T) {
	h := NewHandler(nopHandler{}, Options{Secrets: []string{"s3cret-ari", "1001-demo-password"}})
	r := slog.NewRecord(time.Now(), slog.LevelInfo, "offer not answered", 0)
	r.AddAttrs(typical...)
	if n := testing.AllocsPerRun(100, func() { _ = h.Handle(context.Background(), r) }); n != 0 {
		t.Errorf("%v allocations per clean record, want 0", n)
	}
}

// go test -bench Handler ./internal/redact: the cost of the masking on a typical record, next
// to the JSON handler it wraps (writing to io.Discard).
func BenchmarkHandler(b *testing.B) {
	next := slog.NewJSONHandler(io.Discard, nil)
	secrets := []string{"s3cret-ari", "1001-demo-password", "1002-demo-password", "webhook-key-0123", "tok_abcdef"}
	for _, bc := range []struct {
		name string
		msg  string
		as   []slog.Attr
	}{
		{"clean", "offer not answered", typical},
		{"number", "inbound call", append([]slog.Attr{slog.String("caller", "+4930123456"), slog.String("dialed", "1000")}, typical...)},
		{"number-in-error", "callback failed", append([]slog.Attr{slog.Any("error", errors.New("sip: INVITE sip:+4930123456@trunk: 486 Busy Here"))}, typical[:4]...)},
	} {
		r := slog.NewRecord(time.Now(), slog.LevelInfo, bc.msg, 0)
		r.AddAttrs(bc.as...)
		b.Run(bc.name+"/bare", func(b *testing.B) {
			b.ReportAllocs()
			var h slog.Handler = next
			for b.Loop() {
				_ = h.Handle(context.Background(), r)
			}
		})
		b.Run(bc.name+"/masked", func(b *testing.B) {
			b.ReportAllocs()
			h := NewHandler(next, Options{Secrets: secrets})
			for b.Loop() {
				_ = h.Handle(context.Background(), r)
			}
		})
		b.Run(bc.name+"/masking-only", func(b *testing.B) { // wrapping a handler that writes nothing
			b.ReportAllocs()
			h := NewHandler(nopHandler{}, Options{Secrets: secrets})
			for b.Loop() {
				_ = h.Handle(context.Background(), r)
			}
		})
	}
}
