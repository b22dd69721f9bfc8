package ari

import (
	"encoding/json"
	"reflect"
	"slices"
	"testing"

	"github.com/hotline-cc/hotline/ari/aritest"
)

func traceEvents(t testing.TB) [][]byte {
	t.Helper()
	evs, err := aritest.TraceEvents("testdata")
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) < 164 { // every ws_event of trace.jsonl and edge/*.jsonl
		t.Fatalf("only %d events in the traces", len(evs))
	}
	return evs
}

// Every event Asterisk sent in the traces decodes, into its own type when hotline acts on it,
// and names the objects it is about.
func TestDecodeTraceEvents(t *testing.T) {
	seen := map[string]int{}
	for _, raw := range traceEvents(t) {
		ev, err := DecodeEvent(raw)
		if err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
		seen[ev.EventType()]++
		_, other := ev.(*Other)
		if _, known := knownTypes[ev.EventType()]; known == other {
			t.Errorf("%s decoded as %T", ev.EventType(), ev)
		}
		if !slices.Contains(ev.Keys(), TypeKey(ev.EventType())) {
			t.Errorf("%s: keys %v lack its type", ev.EventType(), ev.Keys())
		}
	}
	for _, typ := range []string{"StasisStart", "StasisEnd", "ChannelDtmfReceived", "PlaybackStarted", "PlaybackFinished",
		"RecordingStarted", "RecordingFinished", "Dial", "ChannelHangupRequest", "ChannelDestroyed",
		"ChannelEnteredBridge", "ChannelLeftBridge", "ChannelStateChange"} {
		if seen[typ] == 0 {
			t.Errorf("no %s in the traces", typ)
		}
	}

	// Spot checks against what the traces say.
	var start *StasisStart
	for _, raw := range traceEvents(t) {
		if ev, _ := DecodeEvent(raw); ev.EventType() == "StasisStart" && start == nil {
			if s := ev.(*StasisStart); s.Channel.ID == "1795396597.4" {
				start = s
			}
		}
	}
	if start == nil || start.Channel.ID != "1795396597.4" || start.Channel.Caller.Number != "5551001" ||
		start.Channel.Dialplan.Exten != "1000" || !reflect.DeepEqual(start.Args, []string{"inbound", "1000"}) ||
		ParseTime(start.Timestamp).IsZero() {
		t.Errorf("the main trace's caller: %+v", start)
	}
	dial, _ := DecodeEvent([]byte(`{"type":"Dial","dialstatus":"BUSY","peer":{"id":"hotline-agent-busy","state":"Down"}}`))
	if d, ok := dial.(*Dial); !ok || d.Dialstatus != "BUSY" || !slices.Contains(d.Keys(), ChannelKey("hotline-agent-busy")) {
		t.Errorf("Dial: %+v", dial)
	}
}

// FuzzEvent: the decoder never panics on what the WebSocket delivers, and whatever it
// accepts re-encodes to an event that decodes to the same type about the same objects.
func FuzzEvent(f *testing.F) {
	for _, raw := range traceEvents(f) {
		f.Add(raw)
	}
	f.Add([]byte(`{"type":""}`))
	f.Add([]byte(`{"type":"StasisStart","channel":null}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		ev, err := DecodeEvent(data)
		if err != nil {
			return
		}
		if ev.EventType() == "" {
			t.Fatal("decoded an event without a type")
		}
		again, err := json.Marshal(ev)
		if err != nil {
			t.Fatalf("re-encoding %T: %v", ev, err)
		}
		ev2, err := DecodeEvent(again)
		if err != nil {
			t.Fatalf("re-decoding %s: %v", again, err)
		}
		if ev2.EventType() != ev.EventType() || !reflect.DeepEqual(ev2.Keys(), ev.Keys()) {
			t.Fatalf("round trip changed %s %v into %s %v", ev.EventType(), ev.Keys(), ev2.EventType(), ev2.Keys())
		}
	})
}
