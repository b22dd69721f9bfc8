// Package sipptest runs the real sipp as a SIP peer in tests: callers, registering agents
// and answering phones. It fails the test under CI when sipp is missing.
package sipptest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/internal/testenv"
)

// Dir is the folder of the project's sipp scenarios.
func Dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "testdata", "sipp")
}

// PcapDir is where Debian's sip-tester ships its RTP captures (RFC 2833 digits, g711a speech).
const PcapDir = "/usr/share/sip-tester"

// Options for one sipp process.
type Options struct {
	Scenario  string            // file in Dir(), or "uas"/"uac" for sipp's built-ins
	Target    string            // host:port to call or register with ("" for a pure UAS)
	Service   string            // request-URI user (-s)
	Calls     int               // -m, default 1
	Rate      float64           // calls per second (-r), default 10
	Port      int               // local SIP port (-p), 0 = free port
	MediaPort int               // local RTP port (-mp), 0 = free port
	Keys      map[string]string // -key name value, used as [name] in scenarios
	Inject    [][]string        // -inf rows (fields [field0]...)
	Args      []string          // anything else
	Timeout   time.Duration     // whole run, default 30s
	Pause     time.Duration     // length of a scenario's <pause/> (-d)
	Auth      [2]string         // digest user and password for [authentication] (-au, -ap)
}

// Proc is a running sipp.
type Proc struct {
	t        testing.TB
	cmd      *exec.Cmd
	out      testenv.Output
	dir      string
	done     chan struct{}
	err      error
	Port     int
	MediaPrt int
}

// Start runs sipp in the background; Wait collects it.
func Start(t testing.TB, o Options) *Proc {
	t.Helper()
	bin := testenv.Tool(t, "sipp")
	if _, err := os.Stat(filepath.Join(PcapDir, "g711a.pcap")); err != nil {
		testenv.Missing(t, "sipp's pcaps in %s (Debian package sip-tester)", PcapDir)
	}
	if o.Keys == nil {
		o.Keys = map[string]string{}
	}
	if _, ok := o.Keys["caller"]; !ok {
		o.Keys["caller"] = "+8613800138000"
	}
	if o.Calls == 0 {
		o.Calls = 1
	}
	if o.Rate == 0 {
		o.Rate = 10
	}
	if o.Timeout == 0 {
		o.Timeout = 30 * time.Second
	}
	if o.Port == 0 {
		o.Port = FreeUDPPort(t)
	}
	if o.MediaPort == 0 {
		o.MediaPort = FreeUDPPort(t)
	}
	dir := t.TempDir()
	args := []string{"-i", "127.0.0.1", "-p", strconv.Itoa(o.Port), "-mi", "127.0.0.1", "-mp", strconv.Itoa(o.MediaPort),
		"-m", strconv.Itoa(o.Calls), "-r", strconv.FormatFloat(o.Rate, 'f', -1, 64),
		"-timeout", fmt.Sprintf("%ds", int(o.Timeout.Seconds())), "-timeout_error",
		"-trace_err", "-error_file", filepath.Join(dir, "errors.log"),
		"-trace_msg", "-message_file", filepath.Join(dir, "messages.log"),
		"-nostdin",
	}
	switch o.Scenario {
	case "uas", "uac":
		args = append(args, "-sn", o.Scenario)
	default:
		args = append(args, "-sf", filepath.Join(Dir(), o.Scenario))
	}
	if o.Auth[0] != "" {
		args = append(args, "-au", o.Auth[0], "-ap", o.Auth[1])
	}
	if o.Pause > 0 {
		args = append(args, "-d", strconv.Itoa(int(o.Pause/time.Millisecond)))
	}
	if o.Service != "" {
		args = append(args, "-s", o.Service)
	}
	for k, v := range o.Keys {
		args = append(args, "-key", k, v)
	}
	if len(o.Inject) > 0 {
		var b strings.Builder
		b.WriteString("SEQUENTIAL\n")
		for _, row := range o.Inject {
			b.WriteString(strings.Join(row, ";") + "\n")
		}
		inf := filepath.Join(dir, "inject.csv")
		if err := os.WriteFile(inf, []byte(b.String()), 0o600); err != nil {
			t.Fatal(err)
		}
		args = append(args, "-inf", inf)
	}
	args = append(args, o.Args...)
	if o.Target != "" {
		args = append(args, o.Target)
	}
	ctx, cancel := context.WithTimeout(context.Background(), o.Timeout+10*time.Second)
	p := &Proc{t: t, dir: dir, done: make(chan struct{}), Port: o.Port, MediaPrt: o.MediaPort}
	p.cmd = exec.CommandContext(ctx, bin, args...)
	p.cmd.Dir = dir
	p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.out
	if err := p.cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start sipp: %v", err)
	}
	go func() {
		p.err = p.cmd.Wait()
		cancel()
		close(p.done)
	}()
	t.Cleanup(func() {
		if p.cmd.Process != nil {
			_ = p.cmd.Process.Kill()
		}
		<-p.done
	})
	return p
}

// Wait waits for sipp to finish and returns its exit code (0: every call succeeded).
func (p *Proc) Wait() int {
	<-p.done
	if p.cmd.ProcessState == nil {
		return -1
	}
	return p.cmd.ProcessState.ExitCode()
}

// Done is closed when sipp has exited.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Kill stops sipp.
func (p *Proc) Kill() { _ = p.cmd.Process.Kill(); <-p.done }

// Log is sipp's output and its message and error traces, for failure messages.
func (p *Proc) Log() string {
	var b strings.Builder
	b.WriteString(p.out.String())
	for _, f := range []string{"errors.log", "messages.log"} {
		if data, err := os.ReadFile(filepath.Join(p.dir, f)); err == nil {
			if len(data) > 12000 {
				data = append([]byte("...\n"), data[len(data)-12000:]...)
			}
			fmt.Fprintf(&b, "\n--- %s ---\n%s", f, data)
		}
	}
	return b.String()
}

// Dir is the folder sipp runs in: its -trace_rtt and -trace_stat files land there.
func (p *Proc) Dir() string { return p.dir }

// Messages is the SIP message trace.
func (p *Proc) Messages() string {
	data, _ := os.ReadFile(filepath.Join(p.dir, "messages.log"))
	return string(data)
}

// MustSucceed waits and fails the test with sipp's traces unless it exited 0.
func (p *Proc) MustSucceed(t testing.TB) {
	t.Helper()
	if code := p.Wait(); code != 0 {
		t.Fatalf("sipp exited %d:\n%s", code, p.Log())
	}
}

// FreeUDPPort returns a UDP port divisible by 4 that is free on loopback together with the
// three above it (sipp's -mp uses the port and port+2 for audio and video, each with RTCP
// above), over UDP and TCP, and that no earlier call in this process handed out. Ports come from 21000-32767: above the
// sample config's RTP range and below the kernel's ephemeral range, so a server under test
// that binds port 0 can never take a port between this check and sipp's bind. Each test
// process starts at its own offset, so packages tested in parallel rarely meet.
func FreeUDPPort(t testing.TB) int {
	t.Helper()
	portsMu.Lock()
	defer portsMu.Unlock()
	if portsNext == 0 {
		portsNext = portsLow + (os.Getpid()*4*37)%(portsHigh-portsLow)
	}
	for i := 0; i < (portsHigh-portsLow)/4; i++ {
		port := portsNext &^ 3
		portsNext += 4
		if portsNext >= portsHigh {
			portsNext = portsLow
		}
		if portsGiven[port] {
			continue
		}
		if portFree(port) && portFree(port+1) && portFree(port+2) && portFree(port+3) {
			portsGiven[port] = true
			return port
		}
	}
	t.Fatal("no free port")
	return 0
}

const portsLow, portsHigh = 21000, 32766

var (
	portsMu    sync.Mutex
	portsNext  int
	portsGiven = map[int]bool{}
)

// portFree reports whether port can be bound on loopback over UDP and TCP.
func portFree(port int) bool {
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	c, err := net.ListenPacket("udp", addr)
	if err != nil {
		return false
	}
	c.Close()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return false
	}
	l.Close()
	return true
}
