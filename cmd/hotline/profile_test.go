package main

import (
	"bytes"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// --pprof listens on loopback only: another address is refused before anything starts.
func TestPprofRefusesANonLoopbackAddress(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:6060", "192.0.2.1:6060", ":6060", "6060"} {
		var stderr bytes.Buffer
		if code := run([]string{"serve", "--pprof", addr}, io.Discard, &stderr); code != 2 {
			t.Errorf("--pprof %s: exit %d, want 2 (%s)", addr, code, stderr.String())
		}
		if !strings.Contains(stderr.String(), "--pprof") {
			t.Errorf("--pprof %s: the error does not name the flag: %s", addr, stderr.String())
		}
	}
	for _, addr := range []string{"127.0.0.1:6060", "[::1]:6060", "localhost:6060"} {
		if err := checkPprofAddr(addr); err != nil {
			t.Errorf("--pprof %s refused: %v", addr, err)
		}
	}
}

// The endpoints answer while they are on, and are gone once stopped; the CPU profile is
// written to its file.
func TestPprofServesAndStops(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	p := profiling{addr: addr, cpuFile: t.TempDir() + "/cpu.pprof"}
	if err := p.start(slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	var resp *http.Response
	for range 50 {
		if resp, err = http.Get("http://" + addr + "/debug/pprof/goroutine?debug=1"); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "goroutine profile") {
		t.Fatalf("goroutine profile: %s %.80s", resp.Status, body)
	}
	p.stop()
	if st, err := os.Stat(p.cpuFile); err != nil || st.Size() == 0 {
		t.Errorf("CPU profile %s not written: %v", p.cpuFile, err)
	}
	if _, err := http.Get("http://" + addr + "/debug/pprof/"); err == nil {
		t.Error("pprof still answers after stop")
	}
}
