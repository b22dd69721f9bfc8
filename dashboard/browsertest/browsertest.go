// Package browsertest drives the dashboard in headless Chromium (Debian's chromium, through
// chromedp) for tests of this and other packages: start a browser, log in with a link, wait
// for text to appear under a selector within a deadline, click, and save screenshots as test
// artifacts. It is for tests only; nothing in the product imports it.
package browsertest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/hotline-cc/hotline/internal/testenv"
)

// Browser is one headless Chromium with one tab, closed when the test ends.
type Browser struct {
	t      testing.TB
	ctx    context.Context
	cancel context.CancelFunc
	dir    string
	shots  int
}

type settings struct {
	artifacts string
	w, h      int
	timeout   time.Duration
	mic       string // a WAV file the fake microphone plays ("" = no fake media devices)
}

// Option configures Start.
type Option func(*settings)

// WithArtifacts sets where screenshots go (default <repo>/testdata/artifacts/<package dir>).
func WithArtifacts(dir string) Option { return func(s *settings) { s.artifacts = dir } }

// WithWindowSize sets the viewport (default 1400×900).
func WithWindowSize(w, h int) Option { return func(s *settings) { s.w, s.h = w, h } }

// WithTimeout bounds the browser's whole life (default 2 minutes).
func WithTimeout(d time.Duration) Option { return func(s *settings) { s.timeout = d } }

// WithFakeMicrophone gives the page fake media devices that need no permission prompt, the
// microphone playing wav (looped): a browser phone in a test speaks a known tone.
func WithFakeMicrophone(wav string) Option { return func(s *settings) { s.mic = wav } }

// Start launches headless Chromium with a fresh profile. Without chromium the test is
// skipped, or fails under CI (internal/testenv). It runs as root with --no-sandbox and with
// everything that would reach the network turned off.
func Start(t testing.TB, opts ...Option) *Browser {
	t.Helper()
	path := testenv.Tool(t, "chromium")
	s := settings{w: 1400, h: 900, timeout: 2 * time.Minute}
	for _, o := range opts {
		o(&s)
	}
	if s.artifacts == "" {
		s.artifacts = DefaultArtifacts(t)
	}
	if err := os.MkdirAll(s.artifacts, 0o755); err != nil {
		t.Fatal(err)
	}
	flags := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(s.w, s.h),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("no-default-browser-check", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-domain-reliability", true),
		chromedp.Flag("disable-client-side-phishing-detection", true),
		chromedp.Flag("metrics-recording-only", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("mute-audio", true),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
		chromedp.Flag("disable-features", "MediaRouter,OptimizationHints,Translate,AutofillServerCommunication,CertificateTransparencyComponentUpdater"),
	}
	if s.mic != "" {
		flags = append(flags, chromedp.Flag("use-fake-device-for-media-stream", true), chromedp.Flag("use-fake-ui-for-media-stream", true),
			chromedp.Flag("use-file-for-fake-audio-capture", s.mic))
	}
	root, stop := context.WithTimeout(context.Background(), s.timeout)
	actx, acancel := chromedp.NewExecAllocator(root, flags...)
	ctx, cancel := chromedp.NewContext(actx, chromedp.WithErrorf(func(string, ...any) {}))
	b := &Browser{t: t, ctx: ctx, dir: s.artifacts}
	b.cancel = func() { cancel(); acancel(); stop() }
	if err := chromedp.Do(ctx); err != nil {
		b.cancel()
		t.Fatalf("starting chromium: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			b.Screenshot("failed")
		}
		b.cancel()
	})
	return b
}

// DefaultArtifacts is <repo>/testdata/artifacts/<the test's package directory name>.
func DefaultArtifacts(t testing.TB) string {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	root := wd
	for {
		if _, err := os.Stat(filepath.Join(root, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(root)
		if parent == root {
			root = wd
			break
		}
		root = parent
	}
	rel, err := filepath.Rel(root, wd)
	if err != nil || rel == "." {
		rel = filepath.Base(wd)
	}
	return filepath.Join(root, "testdata", "artifacts", rel)
}

// Context is the tab's context, for chromedp actions of one's own.
func (b *Browser) Context() context.Context { return b.ctx }

// Artifacts is the directory screenshots are saved in.
func (b *Browser) Artifacts() string { return b.dir }

// Open navigates to url and waits for the page to load.
func (b *Browser) Open(url string) error {
	return chromedp.Do(b.ctx, chromedp.Navigate(url))
}

// Login opens a login link (or any dashboard URL with a session) and waits until the
// dashboard has loaded as a logged-in user (body[data-ready="true"]).
func (b *Browser) Login(url string) error {
	if err := b.Open(url); err != nil {
		return err
	}
	var state string
	if _, err := b.waitJS(`document.body.dataset.ready || ""`, func(v string) bool { state = v; return v != "" }, 10*time.Second); err != nil {
		return fmt.Errorf("browsertest: the dashboard did not load: %w", err)
	}
	if state != "true" {
		return fmt.Errorf("browsertest: login failed: the dashboard shows the login form (%s)", url)
	}
	return nil
}

func jsString(s string) string { return strconv.Quote(s) }

// waitJS polls a JavaScript expression giving a string until ok accepts it.
func (b *Browser) waitJS(expr string, ok func(string) bool, timeout time.Duration) (time.Duration, error) {
	start := time.Now()
	deadline := start.Add(timeout)
	var last string
	for {
		v, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](expr))
		if err == nil && ok(v) {
			return time.Since(start), nil
		}
		if err != nil && b.ctx.Err() != nil {
			return time.Since(start), err
		}
		last = v
		if time.Now().After(deadline) {
			if err != nil {
				return time.Since(start), fmt.Errorf("after %v: %w", timeout, err)
			}
			return time.Since(start), fmt.Errorf("after %v: last value %q", timeout, last)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// WaitText waits until the text of the first element matching sel contains text, and
// returns how long it took. An empty text waits for the element to exist.
func (b *Browser) WaitText(sel, text string, timeout time.Duration) (time.Duration, error) {
	expr := `(function(){var e=document.querySelector(` + jsString(sel) + `);return e?"\u0001"+e.textContent:""})()`
	d, err := b.waitJS(expr, func(v string) bool { return strings.HasPrefix(v, "\u0001") && strings.Contains(v, text) }, timeout)
	if err != nil {
		return d, fmt.Errorf("browsertest: %q never showed %q: %w", sel, text, err)
	}
	return d, nil
}

// WaitVisible waits until an element matching sel is rendered (not hidden).
func (b *Browser) WaitVisible(sel string, timeout time.Duration) error {
	expr := `(function(){var e=document.querySelector(` + jsString(sel) + `);return e&&e.offsetParent!==null?"yes":""})()`
	if _, err := b.waitJS(expr, func(v string) bool { return v == "yes" }, timeout); err != nil {
		return fmt.Errorf("browsertest: %q never became visible: %w", sel, err)
	}
	return nil
}

// WaitEnabled waits until an element matching sel is visible and not disabled.
func (b *Browser) WaitEnabled(sel string, timeout time.Duration) error {
	expr := `(function(){var e=document.querySelector(` + jsString(sel) + `);return e&&e.offsetParent!==null&&!e.disabled?"yes":""})()`
	if _, err := b.waitJS(expr, func(v string) bool { return v == "yes" }, timeout); err != nil {
		return fmt.Errorf("browsertest: %q never became enabled: %w", sel, err)
	}
	return nil
}

// Text is the text of the first element matching sel.
func (b *Browser) Text(sel string) (string, error) {
	return chromedp.Run(b.ctx, chromedp.Evaluate[string](`(function(){var e=document.querySelector(`+jsString(sel)+`);return e?e.textContent:""})()`))
}

// Click clicks the first element matching sel with the mouse (a user gesture), waiting up to
// 5 s for it to be visible.
func (b *Browser) Click(sel string) error {
	if err := b.WaitVisible(sel, 5*time.Second); err != nil {
		return err
	}
	var err error
	for range 5 {
		ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
		err = chromedp.Do(ctx, chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible))
		cancel()
		// A view that re-renders (a live event, a refresh) replaces the node between finding
		// and clicking it; a person would click the new one.
		if err == nil || !strings.Contains(err.Error(), "Could not find node") {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
	return err
}

// SetValue sets a form field's value.
func (b *Browser) SetValue(sel, value string) error {
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	return chromedp.Do(ctx, chromedp.SetValue(chromedp.CSS(sel), value))
}

// Eval runs a JavaScript expression and decodes its value (as JSON) into out.
func (b *Browser) Eval(expr string, out any) error {
	s, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`JSON.stringify((`+expr+`))`))
	if err != nil {
		return err
	}
	return json.Unmarshal([]byte(s), out)
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// Screenshot saves the whole page as <artifacts>/<test>-<n>-<name>.png and returns the path.
func (b *Browser) Screenshot(name string) (string, error) {
	if b.ctx.Err() != nil {
		return "", b.ctx.Err()
	}
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		return "", err
	}
	b.shots++
	p := filepath.Join(b.dir, fmt.Sprintf("%s-%02d-%s.png", unsafeName.ReplaceAllString(b.t.Name(), "_"), b.shots, unsafeName.ReplaceAllString(name, "_")))
	if err := os.WriteFile(p, png, 0o644); err != nil {
		return "", err
	}
	b.t.Logf("screenshot %s", p)
	return p, nil
}

// ShowView opens a dashboard view: wallboard, agents, calls, callbacks, missed, tickets,
// customer, flows, reports, staffing.
func (b *Browser) ShowView(view string) error {
	if err := b.Click(`#nav button[data-view=` + jsString(view) + `]`); err != nil {
		return err
	}
	return b.WaitVisible("#view-"+view, 5*time.Second)
}

// SetLanguage switches the dashboard's language (en or zh).
func (b *Browser) SetLanguage(lang string) error {
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.SetValue(chromedp.CSS(`header select.lang`), lang)); err != nil {
		return err
	}
	_, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector("header select.lang").dispatchEvent(new Event("change"))`))
	return err
}

// AudioState is what an <audio> element reports.
type AudioState struct {
	CurrentTime float64 `json:"currentTime"`
	Duration    float64 `json:"duration"`
	ReadyState  int     `json:"readyState"`
	Paused      bool    `json:"paused"`
	Error       int     `json:"error"` // MediaError code, 0 for none
}

// Audio reads the state of the <audio> element matching sel.
func (b *Browser) Audio(sel string) (AudioState, error) {
	var a AudioState
	err := b.Eval(`(function(){var a=document.querySelector(`+jsString(sel)+`);if(!a)return null;`+
		`return {currentTime:a.currentTime,duration:isFinite(a.duration)?a.duration:0,readyState:a.readyState,paused:a.paused,error:a.error?a.error.code:0}})()`, &a)
	return a, err
}

// WaitAudioPlaying waits until the audio element has played at least `played` seconds.
func (b *Browser) WaitAudioPlaying(sel string, played float64, timeout time.Duration) (AudioState, error) {
	deadline := time.Now().Add(timeout)
	for {
		a, err := b.Audio(sel)
		if err == nil && a.Error != 0 {
			return a, fmt.Errorf("browsertest: %s: media error %d", sel, a.Error)
		}
		if err == nil && a.CurrentTime >= played && a.ReadyState >= 2 {
			return a, nil
		}
		if time.Now().After(deadline) {
			if err == nil {
				err = errors.New("not playing")
			}
			return a, fmt.Errorf("browsertest: %s after %v: %+v: %w", sel, timeout, a, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// PlayAudio starts the <audio> element matching sel playing, as its play button would.
func (b *Browser) PlayAudio(sel string) error {
	var ok bool
	if err := b.Eval(`(function(){var a=document.querySelector(`+jsString(sel)+`);if(!a)return false;a.play();return true})()`, &ok); err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("browsertest: no audio element %s", sel)
	}
	return nil
}

// Selectors of the dashboard, for tests elsewhere (the center's end-to-end test).

// QueueCard is a queue's card on the wallboard.
func QueueCard(queue string) string { return `#queues .queue[data-queue=` + jsString(queue) + `]` }

// QueueWaiting is the number of contacts waiting on a queue's card.
func QueueWaiting(queue string) string { return QueueCard(queue) + ` .v.waiting` }

// QueueServiceLevel is the service level (15-minute window) on a queue's card.
func QueueServiceLevel(queue string) string { return QueueCard(queue) + ` .v.servicelevel` }

// QueueOldest is the oldest wait on a queue's card.
func QueueOldest(queue string) string { return QueueCard(queue) + ` .v.oldest` }

// AgentRow is an agent's row in the agents view.
func AgentRow(id string) string { return `#agents-table tr[data-agent=` + jsString(id) + `]` }

// AgentState is the state shown in an agent's row (its class is the state's name).
func AgentState(id string) string { return AgentRow(id) + ` .state` }

// AgentButton is an action button (pause, unpause, logout, login) in an agent's row.
func AgentButton(id, action string) string {
	return AgentRow(id) + ` button[data-action=` + jsString(action) + `]`
}

// AgentPauseReason is the pause-reason picker in an agent's row.
func AgentPauseReason(id string) string { return AgentRow(id) + ` select.reason` }

// CallRow is a live call's row in the calls view.
func CallRow(id string) string { return `#calls-table tr[data-call=` + jsString(id) + `]` }

// CallAudio is one leg's audio figures ("caller" or "agent") in a live call's row; the
// element has the class poor when loss or jitter is past the page's thresholds, in either
// direction.
func CallAudio(id, leg string) string {
	return CallRow(id) + ` .audio-cell .audio-leg[data-leg=` + jsString(leg) + `]`
}

// CallButton is a control of a connected call in its row: "transfer", "hold" or "resume".
func CallButton(id, action string) string {
	return CallRow(id) + ` button[data-action=` + jsString(action) + `]`
}

// CallMonitorButton is a monitoring control of a connected call: "listen", "whisper" or
// "barge" while nobody monitors it; "monitor-listen", "monitor-whisper", "monitor-barge"
// (change the mode) and "monitor-stop" while a supervisor does. CallButton with
// "record-start", "record-pause" and "record-resume" are the recording's.
func CallMonitorButton(id, action string) string { return CallButton(id, action) }

// CallSupervisorPicker is the supervisor whose phone joins, when several are configured.
func CallSupervisorPicker(id string) string { return CallRow(id) + ` select.monitor-supervisor` }

// CallRecordingState is a call's recording mark ("● recording", "recording paused"), with
// data-rec recording or paused; absent while not recorded.
func CallRecordingState(id string) string { return CallRow(id) + ` .rec-state` }

// CallMonitorState says who monitors a call in which mode ("Listen: 9001"); absent otherwise.
func CallMonitorState(id string) string { return CallRow(id) + ` .monitor-state` }

// TimelineRecording is a conversation recording on the customer's timeline; within it,
// audio.call-audio plays it (supervisors), a.download downloads it, .paused-spans and
// .incomplete say what it lacks.
func TimelineRecording(id string) string {
	return `#timeline .recording[data-recording=` + jsString(id) + `]`
}

// CallTransferTarget is the field of a connected call's row where the transfer target is typed.
func CallTransferTarget(id string) string { return CallRow(id) + ` input.transfer-target` }

// CallAudioHeard is what a leg's peer reports hearing of hotline's audio (its RTCP), within
// CallAudio; absent until the peer has reported.
func CallAudioHeard(id, leg string) string {
	return CallAudio(id, leg) + ` .audio-heard`
}

// AuditRow is the newest row of an action (agent.pause) in the audit view.
func AuditRow(action string) string {
	return `#audit-table tbody tr[data-action=` + jsString(action) + `]`
}

// AuditFilter is a filter field of the audit view: actor, action, object, from, since, until.
func AuditFilter(field string) string { return `#audit-` + field }

// AuditShow is the audit view's button that applies the filters.
const AuditShow = `#audit-form button[type=submit]`

// TicketRow is a ticket's row (by number, T-000123) in the tickets view.
func TicketRow(number string) string {
	return `#tickets-table tr[data-ticket=` + jsString(number) + `]`
}

// Ticket detail: the voicemail player and its play button.
const (
	TicketDetail   = "#ticket-detail"
	VoicemailAudio = "#ticket-audio"
	PlayVoicemail  = "#play-voicemail"
	Connection     = `#conn[data-state="live"]`
)

// WorkRow is a work item's row in the missed view's worklist.
func WorkRow(id string) string { return `#worklist-table tr[data-work=` + jsString(id) + `]` }

// WorkButton is a control of a work item in its row: "take", "release" or "close".
func WorkButton(id, action string) string {
	return WorkRow(id) + ` button[data-action=` + jsString(action) + `]`
}

// SatisfactionRow is an agent's row in the reports view's satisfaction table.
func SatisfactionRow(agent string) string { return `#sat-table tr[data-agent=` + jsString(agent) + `]` }
