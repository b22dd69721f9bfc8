package aritest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// record is one line of a trace file (see ari/testdata/README.md).
type record struct {
	Seq      int             `json:"seq"`
	Kind     string          `json:"kind"`
	Event    json.RawMessage `json:"event"`
	Response *struct {
		Status int             `json:"status"`
		Body   json.RawMessage `json:"body"`
	} `json:"response"`
}

// fixtures are the traces' events and REST response bodies, by a name the fake uses.
type fixtures struct {
	events map[string]json.RawMessage
	bodies map[string]fixtureBody
	wav    []byte
	// what a snoop with spy=in and spy=out on the traced caller recorded (440 Hz: the caller;
	// 1000 Hz: the agent it heard)
	snoopIn, snoopOut []byte
}

type fixtureBody struct {
	status int
	body   json.RawMessage
}

type ref struct {
	file string // relative to the testdata folder, without .jsonl
	seq  int
	typ  string // event type (events only)
}

// eventRefs picks, for every event the fake sends, the genuine one it is copied from.
var eventRefs = map[string]ref{
	"StasisStart.inbound":          {"trace", 23, "StasisStart"},
	"StasisStart.dialed":           {"trace", 61, "StasisStart"},
	"ChannelStateChange.up":        {"trace", 31, "ChannelStateChange"},
	"ChannelStateChange.dialed-up": {"trace", 58, "ChannelStateChange"},
	"ChannelStateChange.ringing":   {"edge/agent-noanswer", 13, "ChannelStateChange"},
	"PlaybackStarted":              {"trace", 33, "PlaybackStarted"},
	"PlaybackFinished.done":        {"trace", 36, "PlaybackFinished"},
	"PlaybackFinished.failed":      {"trace", 137, "PlaybackFinished"},
	"ChannelDtmfReceived":          {"trace", 38, "ChannelDtmfReceived"},
	"RecordingStarted":             {"edge/record-hangup", 11, "RecordingStarted"},
	"RecordingFinished.hangup":     {"edge/record-hangup", 19, "RecordingFinished"},
	"RecordingFinished.pound":      {"edge/record-hangup", 39, "RecordingFinished"},
	"RecordingFinished.stop":       {"trace", 47, "RecordingFinished"},
	"Dial.start":                   {"edge/agent-busy", 11, "Dial"},
	"Dial.ringing":                 {"edge/agent-noanswer", 14, "Dial"},
	"Dial.busy":                    {"edge/agent-busy", 13, "Dial"},
	"Dial.answer":                  {"trace", 59, "Dial"},
	"ChannelDestroyed.noanswer":    {"edge/agent-noanswer", 16, "ChannelDestroyed"},
	"ChannelDestroyed.unreachable": {"edge/agent-unreachable", 13, "ChannelDestroyed"},
	"ChannelDestroyed.busy":        {"edge/agent-busy", 14, "ChannelDestroyed"},
	"ChannelDestroyed.normal":      {"trace", 102, "ChannelDestroyed"},
	"ChannelHangupRequest.remote":  {"edge/record-hangup", 18, "ChannelHangupRequest"},
	"ChannelHangupRequest.app":     {"trace", 98, "ChannelHangupRequest"},
	"StasisEnd":                    {"trace", 113, "StasisEnd"},
	"ChannelEnteredBridge":         {"trace", 66, "ChannelEnteredBridge"},
	"ChannelLeftBridge":            {"trace", 91, "ChannelLeftBridge"},
	"BridgeDestroyed":              {"trace", 116, "BridgeDestroyed"},
	// Asterisk 22 (PJSIP)
	"DeviceStateChanged.online":      {"asterisk22/endpoints", 28, "DeviceStateChanged"},
	"DeviceStateChanged.unavailable": {"asterisk22/endpoints", 42, "DeviceStateChanged"},
	"ChannelHold":                    {"asterisk22/hold-moh", 67, "ChannelHold"},
	"ChannelUnhold":                  {"asterisk22/hold-moh", 80, "ChannelUnhold"},
	"ChannelTransfer.blind":          {"asterisk22/refer-blind", 59, "ChannelTransfer"},
	"ChannelTransfer.attended":       {"asterisk22/refer-attended", 110, "ChannelTransfer"},
	"StasisStart.snoop":              {"asterisk22/record-snoop", 51, "StasisStart"},
}

// bodyRefs picks the genuine REST responses the fake answers with.
var bodyRefs = map[string]ref{
	"unauthorized":  {file: "trace", seq: 4},
	"channel.404":   {file: "trace", seq: 17},
	"bridge.404":    {file: "trace", seq: 19},
	"originate.400": {file: "trace", seq: 20},
	"play.201":      {file: "trace", seq: 34},
	"playback.get":  {file: "trace", seq: 35},
	"playback.404":  {file: "trace", seq: 37},
	"record.201":    {file: "edge/record-hangup", seq: 10},
	"live.get":      {file: "trace", seq: 45},
	"live.404":      {file: "edge/record-hangup", seq: 22},
	"stored.get":    {file: "trace", seq: 49},
	"stored.404":    {file: "trace", seq: 121},
	"originate.200": {file: "trace", seq: 55},
	"bridge.create": {file: "trace", seq: 65},
	// Asterisk 22 (PJSIP)
	"endpoints.list":        {file: "asterisk22/endpoints", seq: 34},
	"subscription":          {file: "asterisk22/endpoints", seq: 21},
	"transfer_progress.204": {file: "asterisk22/refer-blind", seq: 74},
	"transfer_progress.400": {file: "asterisk22/refer-blind", seq: 129},
	"snoop.200":             {file: "asterisk22/record-snoop", seq: 50},
	"snoop.404":             {file: "asterisk22/record-snoop", seq: 162},
	"snoop.400":             {file: "asterisk22/record-snoop", seq: 163},
	"recording.404":         {file: "asterisk22/record-snoop", seq: 153},
	"mute.204":              {file: "asterisk22/record-snoop", seq: 75},
	"unmute.204":            {file: "asterisk22/record-snoop", seq: 81},
	"addChannel.gone":       {file: "asterisk22/monitor-snoop", seq: 280},
}

// Testdata finds ari/testdata: the fixtures copied from the genuine Asterisk traces. It walks
// up from the working directory (a test's package directory) to the module root.
func Testdata() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			td := filepath.Join(dir, "ari", "testdata")
			if _, err := os.Stat(filepath.Join(td, "trace.jsonl")); err != nil {
				return "", fmt.Errorf("aritest: no ARI traces in %s: %w", td, err)
			}
			return td, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("aritest: go.mod not found above the working directory")
		}
		dir = parent
	}
}

func readTrace(path string) (map[int]record, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[int]record{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 8<<20)
	for line := 1; sc.Scan(); line++ {
		var r record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, line, err)
		}
		out[r.Seq] = r
	}
	return out, sc.Err()
}

func loadFixtures(dir string) (*fixtures, error) {
	traces := map[string]map[int]record{}
	get := func(file string, seq int) (record, error) {
		t, ok := traces[file]
		if !ok {
			var err error
			if t, err = readTrace(filepath.Join(dir, file+".jsonl")); err != nil {
				return record{}, err
			}
			traces[file] = t
		}
		r, ok := t[seq]
		if !ok {
			return r, fmt.Errorf("aritest: %s.jsonl has no seq %d", file, seq)
		}
		return r, nil
	}
	fx := &fixtures{events: map[string]json.RawMessage{}, bodies: map[string]fixtureBody{}}
	for name, rf := range eventRefs {
		r, err := get(rf.file, rf.seq)
		if err != nil {
			return nil, err
		}
		var head struct {
			Type string `json:"type"`
		}
		if r.Kind != "ws_event" || json.Unmarshal(r.Event, &head) != nil || head.Type != rf.typ {
			return nil, fmt.Errorf("aritest: %s.jsonl seq %d is not a %s event", rf.file, rf.seq, rf.typ)
		}
		fx.events[name] = r.Event
	}
	for name, rf := range bodyRefs {
		r, err := get(rf.file, rf.seq)
		if err != nil {
			return nil, err
		}
		if r.Kind != "rest" || r.Response == nil {
			return nil, fmt.Errorf("aritest: %s.jsonl seq %d is not a REST exchange", rf.file, rf.seq)
		}
		fx.bodies[name] = fixtureBody{status: r.Response.Status, body: r.Response.Body}
	}
	wav, err := os.ReadFile(filepath.Join(dir, "hotline-msg.wav"))
	if err != nil {
		return nil, err
	}
	fx.wav = wav
	if fx.snoopIn, err = os.ReadFile(filepath.Join(dir, "asterisk22", "snoop-in.wav")); err != nil {
		return nil, err
	}
	if fx.snoopOut, err = os.ReadFile(filepath.Join(dir, "asterisk22", "snoop-out.wav")); err != nil {
		return nil, err
	}
	return fx, nil
}

// obj decodes a fixture afresh (a deep copy every time), keeping numbers as they were.
func obj(raw json.RawMessage) map[string]any {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		panic(fmt.Sprintf("aritest: fixture is not a JSON object: %v", err))
	}
	return m
}

func (fx *fixtures) event(name string) map[string]any {
	raw, ok := fx.events[name]
	if !ok {
		panic("aritest: no event fixture " + name)
	}
	return obj(raw)
}

// list is a fixture whose body is a JSON array (GET /endpoints/PJSIP).
func (fx *fixtures) list(name string) []any {
	b, ok := fx.bodies[name]
	if !ok {
		panic("aritest: no response fixture " + name)
	}
	dec := json.NewDecoder(bytes.NewReader(b.body))
	dec.UseNumber()
	var l []any
	if err := dec.Decode(&l); err != nil {
		panic(fmt.Sprintf("aritest: fixture %s is not a JSON array: %v", name, err))
	}
	return l
}

func (fx *fixtures) body(name string) (int, map[string]any) {
	b, ok := fx.bodies[name]
	if !ok {
		panic("aritest: no response fixture " + name)
	}
	return b.status, obj(b.body)
}

// clone deep-copies a decoded JSON value.
func clone(v any) any {
	switch t := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, x := range t {
			m[k] = clone(x)
		}
		return m
	case []any:
		s := make([]any, len(t))
		for i, x := range t {
			s[i] = clone(x)
		}
		return s
	}
	return v
}

// sub is the object at key in m (created if missing).
func sub(m map[string]any, key string) map[string]any {
	if o, ok := m[key].(map[string]any); ok {
		return o
	}
	o := map[string]any{}
	m[key] = o
	return o
}

// TraceEvents returns every event (the raw JSON Asterisk sent) in the traces under dir,
// in file and sequence order: the seed corpus of the event decoder's fuzz test.
func TraceEvents(dir string) ([][]byte, error) {
	var files []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".jsonl") {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	var out [][]byte
	for _, f := range files {
		recs, err := readTrace(f)
		if err != nil {
			return nil, err
		}
		seqs := make([]int, 0, len(recs))
		for s := range recs {
			seqs = append(seqs, s)
		}
		sort.Ints(seqs)
		for _, s := range seqs {
			if r := recs[s]; r.Kind == "ws_event" {
				out = append(out, []byte(r.Event))
			}
		}
	}
	return out, nil
}
