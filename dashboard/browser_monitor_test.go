package dashboard

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/dashboard/browsertest"
)

// waitAction waits up to 2 s for the fake center to log want.
func (e *env) waitAction(want string) {
	e.t.Helper()
	for until := time.Now().Add(2 * time.Second); !slices.Contains(e.live.actionLog(), want) && time.Now().Before(until); {
		time.Sleep(20 * time.Millisecond)
	}
	if !slices.Contains(e.live.actionLog(), want) {
		e.t.Fatalf("the center got %v, want %q", e.live.actionLog(), want)
	}
}

// A supervisor listens in on a call from the live calls view, whispers to the agent, stops;
// records it, pauses and resumes the recording; then plays a recorded conversation from the
// customer's timeline, where its paused span and missing audio are shown.
func TestBrowserMonitorAndRecord(t *testing.T) {
	b := browsertest.Start(t)
	e := newMonitorEnv(t, nil) // supervisors 9001 and 9002; c1 with agent 1001
	if err := b.Login(e.loginURL); err != nil {
		t.Fatal(err)
	}
	if err := b.ShowView("calls"); err != nil {
		t.Fatal(err)
	}
	if err := b.WaitVisible(browsertest.CallMonitorButton("c1", "listen"), 3*time.Second); err != nil {
		t.Fatalf("no Listen button on the connected call: %v", err)
	}
	var queuedButtons int
	b.Eval(`document.querySelectorAll('#calls-table tr[data-call="c2"] button[data-action="listen"]').length`, &queuedButtons)
	if queuedButtons != 0 {
		t.Error("a queued call offers monitoring")
	}
	var sups []string
	if err := b.Eval(`Array.from(document.querySelectorAll('`+browsertest.CallSupervisorPicker("c1")+` option')).map(function(o){return o.value})`, &sups); err != nil || fmt.Sprint(sups) != "[9001 9002]" {
		t.Fatalf("supervisor picker offers %v (%v)", sups, err)
	}
	// 9002's phone is not registered: the page says so and the call stays unmonitored.
	if err := b.SetValue(browsertest.CallSupervisorPicker("c1"), "9002"); err != nil {
		t.Fatal(err)
	}
	if err := b.Click(browsertest.CallMonitorButton("c1", "listen")); err != nil {
		t.Fatal(err)
	}
	if _, err := b.WaitText("#toast", "supervisor 9002 has no registered phone", 2*time.Second); err != nil {
		t.Fatalf("the unreachable supervisor is not reported: %v", err)
	}
	b.Screenshot("monitor-unreachable")
	if err := b.WaitVisible(browsertest.CallMonitorButton("c1", "listen"), 2*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := b.SetValue(browsertest.CallSupervisorPicker("c1"), "9001"); err != nil {
		t.Fatal(err)
	}
	if err := b.Click(browsertest.CallMonitorButton("c1", "listen")); err != nil {
		t.Fatal(err)
	}
	e.waitAction("monitor c1 9001 listen")
	if _, err := b.WaitText(browsertest.CallMonitorState("c1"), "Listen: 9001", 2*time.Second); err != nil {
		t.Fatalf("the row does not say who listens: %v", err)
	}
	b.Screenshot("monitor-listen")
	if err := b.Click(browsertest.CallMonitorButton("c1", "monitor-whisper")); err != nil {
		t.Fatal(err)
	}
	e.waitAction("mode c1 whisper")
	if _, err := b.WaitText(browsertest.CallMonitorState("c1"), "Whisper: 9001", 2*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := b.Click(browsertest.CallMonitorButton("c1", "monitor-stop")); err != nil {
		t.Fatal(err)
	}
	e.waitAction("stop monitor c1")
	if err := b.WaitVisible(browsertest.CallMonitorButton("c1", "barge"), 2*time.Second); err != nil {
		t.Fatalf("after stopping, monitoring is not offered again: %v", err)
	}

	// Recording: start, pause, resume.
	for _, step := range []struct{ click, want, action string }{
		{"record-start", "● recording", "start"},
		{"record-pause", "recording paused", "pause"},
		{"record-resume", "● recording", "resume"},
	} {
		if err := b.Click(browsertest.CallButton("c1", step.click)); err != nil {
			t.Fatalf("%s: %v", step.click, err)
		}
		if _, err := b.WaitText(browsertest.CallRecordingState("c1"), step.want, 2*time.Second); err != nil {
			t.Fatalf("after %s: %v", step.click, err)
		}
		if step.action == "pause" {
			b.Screenshot("recording-paused")
		}
	}
	got := e.auditActions("?object=c1")
	want := []string{"recording.resume c1 supervisor", "recording.pause c1 supervisor", "recording.start c1 supervisor",
		"monitor.stop c1 supervisor", "monitor.mode c1 supervisor", "monitor.start c1 supervisor"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("audit of the page's actions: %v, want %v", got, want)
	}

	// A recorded conversation on the customer's timeline.
	ri := e.conversationRecording("+8613800000041")
	if err := b.ShowView("customer"); err != nil {
		t.Fatal(err)
	}
	if err := b.SetValue("#customer-q", "+8613800000041"); err != nil {
		t.Fatal(err)
	}
	if err := b.Click(`#customer-search button[type=submit]`); err != nil {
		t.Fatal(err)
	}
	rec := browsertest.TimelineRecording(ri.ID)
	if _, err := b.WaitText(rec, "Call recording · 0:03 · support · 1001, 1002", 3*time.Second); err != nil {
		t.Fatal(err)
	}
	if txt, _ := b.Text(rec + " .paused-spans"); txt != "paused 0:01–0:01.5" {
		t.Errorf("paused spans read %q", txt)
	}
	if txt, _ := b.Text(rec + " .incomplete"); !strings.Contains(txt, "incomplete") {
		t.Errorf("the incomplete mark reads %q", txt)
	}
	var attrs struct{ Preload, Href, Download string }
	if err := b.Eval(`{preload: document.querySelector('`+rec+` audio.call-audio').getAttribute("preload"),
		href: document.querySelector('`+rec+` a.download').getAttribute("href"), download: document.querySelector('`+rec+` a.download').getAttribute("download")}`, &attrs); err != nil {
		t.Fatal(err)
	}
	if attrs.Preload != "none" || attrs.Href != "/api/v1/recordings/"+ri.ID+"?download=1" || attrs.Download != ri.ID+".wav" {
		t.Errorf("player and link: %+v", attrs)
	}
	// Nothing is fetched, so nothing audited, until the supervisor presses play.
	if got := e.auditActions("?object=" + ri.ID); len(got) != 0 {
		t.Errorf("audited before play: %v", got)
	}
	if err := b.PlayAudio(rec + " audio.call-audio"); err != nil {
		t.Fatal(err)
	}
	a, err := b.WaitAudioPlaying(rec+" audio.call-audio", 0.5, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if a.Duration < 2.9 || a.Duration > 3.1 {
		t.Errorf("the player reads %v s, want the 3 s conversation", a.Duration)
	}
	b.Screenshot("timeline-call-recording")
	if got := e.auditActions("?object=" + ri.ID + "&action=recording.play"); len(got) != 1 {
		t.Errorf("playing in the page audited %v, want one recording.play", got)
	}
}
