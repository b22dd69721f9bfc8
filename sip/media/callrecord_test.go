package media

import (
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/audio"
)

// createCallRecording is a recording with its file, fed by nothing yet (tests, benchmarks).
func createCallRecording(s *Session, path string, opts CallRecordOptions) (*CallRecording, error) {
	r := newCallRecording(s, path, opts)
	return r, r.create()
}

// stereoWAV is a two-channel recording read back: the header's declared data size, and the
// channels of that much data.
type stereoWAV struct {
	declared    int
	left, right []int16
}

// readStereoWAV reads the file at path as the canonical 44-byte header of 8 kHz 16-bit
// stereo PCM followed by the audio its data size declares, failing the test otherwise.
func readStereoWAV(t *testing.T, path string) stereoWAV {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < audio.HeaderSize || string(b[0:4]) != "RIFF" || string(b[8:16]) != "WAVEfmt " || string(b[36:40]) != "data" {
		t.Fatalf("%s: not a canonical WAV header: % x", path, b[:min(len(b), audio.HeaderSize)])
	}
	le := binary.LittleEndian
	if ch, rate, bits := le.Uint16(b[22:]), le.Uint32(b[24:]), le.Uint16(b[34:]); ch != 2 || rate != 8000 || bits != 16 {
		t.Fatalf("%s: %d channels, %d Hz, %d bits; want 2, 8000, 16", path, ch, rate, bits)
	}
	riff, data := int(le.Uint32(b[4:])), int(le.Uint32(b[40:]))
	if riff != data+audio.HeaderSize-8 || data%4 != 0 || data > len(b)-audio.HeaderSize {
		t.Fatalf("%s: RIFF size %d, data size %d, %d bytes of audio in the file: inconsistent", path, riff, data, len(b)-audio.HeaderSize)
	}
	w := stereoWAV{declared: data}
	for i := audio.HeaderSize; i+4 <= audio.HeaderSize+data; i += 4 {
		w.left = append(w.left, int16(le.Uint16(b[i:])))
		w.right = append(w.right, int16(le.Uint16(b[i+2:])))
	}
	return w
}

// at returns samples [from, to) of pcm, given as offsets.
func at(pcm []int16, from, to time.Duration) []int16 {
	a, b := int(samplesOf(from)), int(samplesOf(to))
	return pcm[min(max(a, 0), len(pcm)):min(max(b, 0), len(pcm))]
}

// A recorded call as the call path makes it: the caller bridged to an agent (on A-law,
// transcoded to the caller's µ-law), a pause, the bridge again, then a prompt played to the
// caller. The left channel holds the caller's voice throughout; the right the agent's while
// bridged and the prompt while it plays, and nothing else; the pause is digital silence on
// both and is listed, sample-accurate; the header is valid while the call is recorded.
func TestCallRecordingTwoChannels(t *testing.T) {
	t.Parallel()
	caller := newParty(t, "caller", 440, PCMU)
	agent := newParty(t, "agent", 1000, PCMA)
	defer caller.talk()()
	defer agent.talk()()
	path := filepath.Join(t.TempDir(), "call.wav")
	stopBridge := bridge(t, caller.leg, agent.leg)
	time.Sleep(100 * time.Millisecond) // both streams flowing
	rec, err := caller.leg.RecordCall(path, CallRecordOptions{})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := caller.leg.RecordCall(path+"2", CallRecordOptions{}); !errors.Is(err, ErrCallRecordingBusy) {
		t.Errorf("a second recording of the session: %v, want ErrCallRecordingBusy", err)
	}

	time.Sleep(700 * time.Millisecond)
	if !rec.Pause() || rec.Pause() {
		t.Error("Pause: want true, then false (already paused)")
	}
	time.Sleep(300 * time.Millisecond)
	if !rec.Resume() || rec.Resume() {
		t.Error("Resume: want true, then false (not paused)")
	}
	time.Sleep(400 * time.Millisecond)

	// 1.4 s in: the header describes the first second, written out.
	mid := readStereoWAV(t, path)
	if mid.declared < 8000*4 {
		t.Errorf("1.4 s into the recording the header declares %d bytes, want at least a second's (32000)", mid.declared)
	}
	checkHears(t, "the file, mid-recording, left", at(mid.left, 200*time.Millisecond, 600*time.Millisecond), 400*time.Millisecond, []float64{440}, []float64{1000})

	stopAt := time.Since(start)
	stopBridge()
	prompt := tone(1500, 8000, toneAmp, 4000)
	playAt := time.Since(start)
	if err := caller.leg.Play(context.Background(), prompt); err != nil {
		t.Fatal(err)
	}
	res, err := rec.Stop()
	elapsed := time.Since(start)
	if err != nil || res.Incomplete {
		t.Fatalf("Stop = %+v, %v", res, err)
	}
	if again, err2 := rec.Stop(); err2 != nil || again.Duration != res.Duration {
		t.Errorf("a second Stop = %+v, %v; want the first's result", again, err2)
	}
	select {
	case <-rec.Done():
	default:
		t.Error("Done is not closed after Stop")
	}

	w := readStereoWAV(t, path)
	if got := time.Duration(len(w.left)) * time.Second / 8000; got != res.Duration {
		t.Errorf("the file holds %v, Stop says %v", got, res.Duration)
	}
	if d := res.Duration - elapsed; d < -100*time.Millisecond || d > 100*time.Millisecond {
		t.Errorf("recorded %v in %v of wall time", res.Duration, elapsed)
	}
	if len(res.Paused) != 1 {
		t.Fatalf("paused spans %v, want one", res.Paused)
	}
	span := res.Paused[0]
	if n := span.End - span.Start; n < 260*time.Millisecond || n > 340*time.Millisecond {
		t.Errorf("the paused span %v lasts %v, want about 300 ms", span, n)
	}
	if span.Start < 650*time.Millisecond || span.Start > 800*time.Millisecond {
		t.Errorf("the pause starts at %v, want about 700 ms in", span.Start)
	}
	for i, v := range at(w.left, span.Start, span.End) {
		if v != 0 || at(w.right, span.Start, span.End)[i] != 0 {
			t.Fatalf("sample %v into the pause is %d, %d; want silence", span.Start+sampleTime(int64(i)), v, at(w.right, span.Start, span.End)[i])
		}
	}
	if r := audio.RMS(at(w.left, span.Start-20*time.Millisecond, span.Start)); r < 1000 {
		t.Errorf("the frame before the pause has RMS %.0f: the pause began earlier than listed", r)
	}
	if r := audio.RMS(at(w.left, span.End, span.End+20*time.Millisecond)); r < 1000 {
		t.Errorf("the frame after the pause has RMS %.0f: the pause ended later than listed", r)
	}

	// Audio lands in the file 40 to 80 ms after it went through: windows keep clear of the
	// changes.
	for _, b := range [][2]time.Duration{{200 * time.Millisecond, span.Start}, {span.End + 100*time.Millisecond, stopAt}} {
		checkHears(t, "left, bridged", at(w.left, b[0], b[1]), b[1]-b[0], []float64{440}, []float64{1000, 1500})
		checkHears(t, "right, bridged", at(w.right, b[0], b[1]), b[1]-b[0], []float64{1000}, []float64{440, 1500})
	}
	from := playAt + 150*time.Millisecond
	checkHears(t, "left, prompt", at(w.left, from, from+300*time.Millisecond), 300*time.Millisecond, []float64{440}, []float64{1000, 1500})
	checkHears(t, "right, prompt", at(w.right, from, from+300*time.Millisecond), 300*time.Millisecond, []float64{1500}, []float64{440, 1000})
	t.Logf("recorded %v, paused %v", res.Duration, res.Paused)
}

// MaxDuration ends the recording by itself, at exactly that much audio; so does the
// session's end. A recording that starts paused is silence until Resume.
func TestCallRecordingEnds(t *testing.T) {
	t.Parallel()
	caller := newParty(t, "caller", 440, PCMU)
	defer caller.talk()()
	dir := t.TempDir()
	rec, err := caller.leg.RecordCall(filepath.Join(dir, "max.wav"), CallRecordOptions{MaxDuration: 300 * time.Millisecond, Paused: true})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-rec.Done():
	case <-time.After(time.Second):
		t.Fatal("the recording went on past MaxDuration")
	}
	res, err := rec.Stop()
	if err != nil || res.Duration != 300*time.Millisecond || len(res.Paused) != 1 || res.Paused[0] != (Span{0, 300 * time.Millisecond}) {
		t.Errorf("Stop = %+v, %v; want 300 ms, all of it paused", res, err)
	}
	if w := readStereoWAV(t, res.Path); len(w.left) != 2400 || audio.RMS(w.left) != 0 {
		t.Errorf("the file holds %d samples of RMS %.0f, want 2400 of silence", len(w.left), audio.RMS(w.left))
	}

	rec, err = caller.leg.RecordCall(filepath.Join(dir, "hangup.wav"), CallRecordOptions{})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	caller.leg.Close()
	select {
	case <-rec.Done():
	case <-time.After(time.Second):
		t.Fatal("the recording went on after the session ended")
	}
	res, err = rec.Stop()
	if err != nil || res.Duration < 250*time.Millisecond {
		t.Errorf("Stop = %+v, %v; want about 300 ms", res, err)
	}
	w := readStereoWAV(t, res.Path)
	checkHears(t, "left until the hangup", at(w.left, 100*time.Millisecond, 250*time.Millisecond), 150*time.Millisecond, []float64{440}, nil)
	if _, err := caller.leg.RecordCall(filepath.Join(dir, "late.wav"), CallRecordOptions{}); !errors.Is(err, ErrSessionClosed) {
		t.Errorf("recording an ended session: %v, want ErrSessionClosed", err)
	}
}

// The writer, a frame at a time: the received side stalls (its packets then arrive late, in
// a burst) and the sent side goes quiet for a while, yet every frame of each side lands at
// its own time: neither shifts the other.
func TestCallRecordingKeepsSidesAligned(t *testing.T) {
	r, err := createCallRecording(nil, filepath.Join(t.TempDir(), "a.wav"), CallRecordOptions{})
	if err != nil {
		t.Fatal(err)
	}
	frame := func(v int16) []int16 {
		f := make([]int16, FrameSamples)
		for i := range f {
			f[i] = v
		}
		return f
	}
	ts := func(k int) uint32 { return 5000 + uint32(k)*FrameSamples }
	const frames = 40
	stalled := func(k int) bool { return k >= 8 && k <= 12 }
	quiet := func(k int) bool { return k >= 20 && k <= 25 }
	for k := range frames {
		if !quiet(k) {
			r.sent(1, ts(k)+77, frame(int16(100+k)))
		}
		switch {
		case k == 13:
			for j := 8; j <= 13; j++ {
				r.received(2, ts(j), frame(int16(-100-j)))
			}
		case !stalled(k):
			r.received(2, ts(k), frame(int16(-100-k)))
		}
		r.frame()
	}
	r.finish()
	w := readStereoWAV(t, r.path)
	lead := int(jitterSamples / FrameSamples)
	for j := lead; j < frames; j++ {
		k := j - lead // the frame sent and received ConferenceJitter earlier
		l, rt := w.left[j*FrameSamples], w.right[j*FrameSamples]
		wantL, wantR := int16(-100-k), int16(100+k)
		if k >= 8 && k <= 10 { // due before their packets came
			wantL = 0
		}
		if quiet(k) {
			wantR = 0
		}
		if l != wantL || rt != wantR {
			t.Errorf("frame %d: left %d, right %d; want %d, %d", j, l, rt, wantL, wantR)
		}
	}
}

// A write error ends the recording, marked Incomplete, with what was written kept.
func TestCallRecordingWriteError(t *testing.T) {
	r, err := createCallRecording(nil, filepath.Join(t.TempDir(), "e.wav"), CallRecordOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r.f.Close() // the disk is gone
	n := 0
	for r.frame() {
		n++
	}
	r.finish()
	res := r.result
	if !res.Incomplete || r.err == nil || n != callRecordFlush-1 {
		t.Errorf("after %d frames: %+v, %v; want Incomplete with the error after a second", n, res, r.err)
	}
}

// One frame of a recorded call (a packet received, a frame sent, a frame of each written)
// does not allocate.
func TestCallRecordingDoesNotAllocate(t *testing.T) {
	r, err := createCallRecording(nil, filepath.Join(t.TempDir(), "z.wav"), CallRecordOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.finish()
	f := recordFrame(r)
	if n := testing.AllocsPerRun(500, f); n != 0 {
		t.Errorf("one recorded frame: %.1f allocations", n)
	}
	if r.err != nil {
		t.Fatal(r.err)
	}
}

// recordFrame returns a func that feeds r one frame of each side, the sent one as a relayed
// A-law payload, and writes it.
func recordFrame(r *CallRecording) func() {
	in := tone(440, 8000, 8000, FrameSamples)
	out := PCMA.Encode(nil, tone(1000, 8000, 8000, FrameSamples))
	var ts uint32
	return func() {
		r.received(1, ts, in)
		r.sentPayload(2, ts+999, PCMA, out)
		ts += FrameSamples
		r.frame()
	}
}
