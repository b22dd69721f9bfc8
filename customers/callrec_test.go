package customers

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io/fs"
	"os"
	"slices"
	"time"

	"github.com/hotline-cc/hotline/audio"
	"github.com/hotline-cc/hotline/call"
)

// conversation is a two-channel 8 kHz PCM16 WAV, as call.CallRecorder writes.
func conversation(d time.Duration) []byte {
	return audio.EncodeWAV(audio.SampleRate, 2, make([]int16, 2*int(d/time.Millisecond)*8))
}

// A recorded conversation: the driver writes where BeginCallRecording says, Finish files it
// with everything the driver reported, and the customer's timeline and the listing show it.
func testCallRecording(e *env) {
	c, _ := e.s.FindOrCreateByNumber(e.ctx, "+8613800138000")
	ct, err := e.s.AddContact(e.ctx, Contact{CustomerID: c.ID, CallID: "call-7", Queue: "support", Agent: "1001", Outcome: OutcomeAnswered})
	e.must(err)
	p, err := e.s.BeginCallRecording(e.ctx, CallRecordingMeta{CallID: "call-7", ContactID: ct.ID, Queue: "support"})
	e.must(err)
	if _, err := os.Stat(p.Path()); !errors.Is(err, fs.ErrNotExist) {
		e.Fatalf("the recording's path exists before the driver wrote it: %v", err)
	}
	e.must(os.WriteFile(p.Path(), conversation(3*time.Second), 0o640))
	paused := []call.Span{{Start: time.Second, End: 1500 * time.Millisecond}}
	ri, err := p.Finish(e.ctx, FinishedRecording{Duration: 3 * time.Second, Paused: paused, Agents: []string{"1001", "1002"}})
	e.must(err)
	if ri.Kind != "call" || ri.CustomerID != c.ID || ri.ContactID != ct.ID || ri.CallID != "call-7" || ri.Queue != "support" ||
		ri.Incomplete || ri.Duration != 3*time.Second || !ri.RetainUntil.IsZero() || ri.Size != int64(44+3*8000*4) {
		e.Errorf("finished recording: %+v", ri)
	}
	e.must(e.s.Recordings().Verify(ri.ID, ri.SHA256))
	if left, _ := e.s.Recordings().Incoming(); len(left) != 0 {
		e.Errorf("the incoming folder still holds %v", left)
	}
	if _, err := p.Finish(e.ctx, FinishedRecording{}); !errors.Is(err, ErrInvalid) {
		e.Errorf("finishing twice: %v", err)
	}
	got, err := e.s.Recording(e.ctx, ri.ID)
	e.must(err)
	if !slices.Equal(got.Agents, []string{"1001", "1002"}) || !slices.Equal(got.Paused, paused) || got.SHA256 != ri.SHA256 {
		e.Errorf("stored recording: %+v", got)
	}
	// On the timeline, with its contact.
	tl, err := e.s.Timeline(e.ctx, c.ID)
	e.must(err)
	var kinds []EntryKind
	for _, en := range tl {
		kinds = append(kinds, en.Kind)
	}
	if len(tl) != 2 || tl[1].Kind != EntryRecording || tl[1].Recording.ContactID != ct.ID || tl[1].Recording.Paused[0].End != 1500*time.Millisecond {
		e.Errorf("timeline %v, want the contact then its recording", kinds)
	}
	// A recording that never got audio leaves nothing.
	q, err := e.s.BeginCallRecording(e.ctx, CallRecordingMeta{CallID: "call-8", CustomerID: c.ID})
	e.must(err)
	e.must(q.Abort())
	if left, _ := e.s.Recordings().Incoming(); len(left) != 0 {
		e.Errorf("an aborted recording left %v", left)
	}
	// A voicemail of the same customer, to filter by kind.
	e.clk.Advance(time.Second)
	vm, err := e.s.SaveVoicemail(e.ctx, Voicemail{CustomerID: c.ID, Caller: "+8613800138000", Audio: bytes.NewReader(ulawWAV(time.Second))})
	e.must(err)
	for _, f := range []struct {
		f    RecordingFilter
		want []string
	}{
		{RecordingFilter{ContactID: ct.ID}, []string{ri.ID}},
		{RecordingFilter{CustomerID: c.ID}, []string{vm.Recording.ID, ri.ID}},
		{RecordingFilter{CustomerID: c.ID, Kind: "call"}, []string{ri.ID}},
		{RecordingFilter{Kind: "voicemail"}, []string{vm.Recording.ID}},
		{RecordingFilter{CallID: "call-8"}, nil},
	} {
		list, _, err := e.s.ListRecordings(e.ctx, f.f, Page{})
		e.must(err)
		var ids []string
		for _, r := range list {
			ids = append(ids, r.ID)
		}
		if !slices.Equal(ids, f.want) {
			e.Errorf("ListRecordings(%+v) = %v, want %v", f.f, ids, f.want)
		}
	}
	list, _, _ := e.s.ListRecordings(e.ctx, RecordingFilter{Kind: "call"}, Page{})
	if len(list) != 1 || list[0].Queue != "support" || len(list[0].Paused) != 1 || list[0].Size != ri.Size || list[0].Duration != 3*time.Second {
		e.Errorf("listed metadata: %+v", list)
	}
	if _, _, err := e.s.ListRecordings(e.ctx, RecordingFilter{Kind: "music"}, Page{}); !errors.Is(err, ErrInvalid) {
		e.Errorf("an unknown kind: %v", err)
	}
	if _, err := e.s.BeginCallRecording(e.ctx, CallRecordingMeta{CallID: "x", ContactID: "no-such-contact"}); !errors.Is(err, ErrNotFound) {
		e.Errorf("a recording of an unknown contact: %v", err)
	}
	// Pages, newest first.
	e.clk.Advance(time.Second)
	p2, _ := e.s.BeginCallRecording(e.ctx, CallRecordingMeta{CallID: "call-9", CustomerID: c.ID})
	e.must(os.WriteFile(p2.Path(), conversation(time.Second), 0o640))
	r2, err := p2.Finish(e.ctx, FinishedRecording{})
	e.must(err)
	if r2.Duration != time.Second {
		e.Errorf("duration from the header: %v", r2.Duration)
	}
	first, next, err := e.s.ListRecordings(e.ctx, RecordingFilter{Kind: "call"}, Page{Limit: 1})
	e.must(err)
	second, last, err := e.s.ListRecordings(e.ctx, RecordingFilter{Kind: "call"}, Page{Limit: 1, Cursor: next})
	e.must(err)
	if len(first) != 1 || first[0].ID != r2.ID || len(second) != 1 || second[0].ID != ri.ID || last != "" {
		e.Errorf("pages: %v then %v (%q)", first, second, last)
	}
}

// hotline dies while a conversation is being recorded, between two rewrites of the WAV
// header: the next start files what was written, header repaired, marked incomplete.
func testRecoverRecordings(e *env) {
	c, _ := e.s.FindOrCreateByNumber(e.ctx, "+8613800138000")
	ct, _ := e.s.AddContact(e.ctx, Contact{CustomerID: c.ID, CallID: "call-1", Queue: "support"})
	p, err := e.s.BeginCallRecording(e.ctx, CallRecordingMeta{CallID: "call-1", ContactID: ct.ID, Queue: "support", RetainDays: 30})
	e.must(err)
	half := conversation(2 * time.Second)
	binary.LittleEndian.PutUint32(half[40:], 8000*4) // the header was last rewritten at 1 s
	binary.LittleEndian.PutUint32(half[4:], 36+8000*4)
	e.must(os.WriteFile(p.Path(), append(half, 7, 7, 7), 0o640)) // and a torn frame
	// Another one without a sidecar (lost with the crash): its audio is kept all the same.
	orphan, err := e.s.Recordings().Begin(e.clk.Now())
	e.must(err)
	e.must(os.WriteFile(orphan.Path, conversation(time.Second), 0o640))

	// The crash: no Finish. The next start.
	s2 := e.open()
	n, err := s2.RecoverRecordings(e.ctx)
	e.must(err)
	if n != 2 {
		e.Fatalf("recovered %d recordings, want 2", n)
	}
	ri, err := s2.Recording(e.ctx, p.ID())
	e.must(err)
	if !ri.Incomplete || ri.CallID != "call-1" || ri.ContactID != ct.ID || ri.CustomerID != c.ID || ri.Queue != "support" ||
		ri.Duration != 2*time.Second || ri.Size != int64(len(half)) {
		e.Errorf("recovered recording: %+v", ri)
	}
	if want := ri.CreatedAt.Add(30 * 24 * time.Hour); !ri.RetainUntil.Equal(want) {
		e.Errorf("retain until %v, want %v (the queue's 30 days from the sidecar)", ri.RetainUntil, want)
	}
	e.must(s2.Recordings().Verify(ri.ID, ri.SHA256))
	info, err := audio.LoadWAVInfo(s2.Recordings().Dir() + "/" + ri.ID[0:4] + "/" + ri.ID[4:6] + "/" + ri.ID[6:8] + "/" + ri.ID + ".wav")
	if err != nil || info.DataSize != 2*8000*4 {
		e.Errorf("the repaired header: %+v %v", info, err)
	}
	o, err := s2.Recording(e.ctx, orphan.ID)
	e.must(err)
	if !o.Incomplete || o.Duration != time.Second || o.Kind != "call" {
		e.Errorf("recovered recording without a sidecar: %+v", o)
	}
	if left, _ := s2.Recordings().Incoming(); len(left) != 0 {
		e.Errorf("incoming after recovery: %v", left)
	}
	if _, err := os.Stat(p.in.Sidecar()); !errors.Is(err, fs.ErrNotExist) {
		e.Errorf("the sidecar is still there: %v", err)
	}
	if n, err := s2.RecoverRecordings(e.ctx); n != 0 || err != nil {
		e.Errorf("a second recovery filed %d (%v)", n, err)
	}
}

// Call recordings go when their queue's retention ends; without one, with the store's.
func testCallRecordingRetention(e *env) {
	c, _ := e.s.FindOrCreateByNumber(e.ctx, "+8613800138000")
	rec := func(days int) RecordingInfo {
		p, err := e.s.BeginCallRecording(e.ctx, CallRecordingMeta{CallID: "c", CustomerID: c.ID, RetainDays: days})
		e.must(err)
		e.must(os.WriteFile(p.Path(), conversation(time.Second), 0o640))
		ri, err := p.Finish(e.ctx, FinishedRecording{})
		e.must(err)
		return ri
	}
	short, long, deflt := rec(30), rec(365), rec(0) // the store keeps 90 days
	start := e.clk.Now()
	gone := func(s *Store, ri RecordingInfo) bool {
		got, err := s.Recording(e.ctx, ri.ID)
		e.must(err)
		_, ferr := s.Recordings().Open(ri.ID)
		if got.DeletedAt.IsZero() != (ferr == nil) {
			e.Errorf("recording %s: row deleted %v, file %v", ri.ID, got.DeletedAt, ferr)
		}
		return !got.DeletedAt.IsZero()
	}
	for _, step := range []struct {
		after            time.Duration
		short, long, def bool // gone
		removed          int
	}{
		{29 * 24 * time.Hour, false, false, false, 0},
		{31 * 24 * time.Hour, true, false, false, 1},
		{91 * 24 * time.Hour, true, false, true, 1}, // past the default: the 365-day one stays, file and all
		{366 * 24 * time.Hour, true, true, true, 1},
	} {
		e.clk.Set(start.Add(step.after))
		got, err := e.s.ApplyRetention(e.ctx, e.clk.Now())
		e.must(err)
		if got.Recordings != step.removed || got.Orphans != 0 {
			e.Errorf("after %v: retention removed %+v, want %d recording", step.after, got, step.removed)
		}
		if gone(e.s, short) != step.short || gone(e.s, long) != step.long || gone(e.s, deflt) != step.def {
			e.Errorf("after %v: gone 30-day %v, 365-day %v, default %v; want %v %v %v", step.after,
				gone(e.s, short), gone(e.s, long), gone(e.s, deflt), step.short, step.long, step.def)
		}
	}
	// Keeping recordings forever by default still ends a queue's shorter retention.
	forever := e.open(WithRetention(0))
	r := rec(1)
	e.clk.Advance(2 * 24 * time.Hour)
	got, err := forever.ApplyRetention(e.ctx, e.clk.Now())
	e.must(err)
	if got.Recordings != 1 || !gone(forever, r) {
		e.Errorf("retention forever with a 1-day queue: %+v", got)
	}
}
