package main

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"runtime/trace"
	"strings"
	"testing"
	"time"
)

//go:noinline
func tickLoop(stop <-chan struct{}) {
	t := time.NewTicker(time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-stop:
			return
		}
	}
}

//go:noinline
func hogTheCore(d time.Duration) int {
	n := 0
	for end := time.Now().Add(d); time.Now().Before(end); n++ {
	}
	return n
}

// On one P, a goroutine that spins for 40 ms keeps a 1 ms ticker from running until the
// runtime preempts it (after about 10 ms): the report names the spinning function.
func TestNamesWhatHeldTheCore(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	file := filepath.Join(t.TempDir(), "trace.out")
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := trace.Start(f); err != nil {
		t.Fatal(err)
	}
	stop, done := make(chan struct{}), make(chan struct{})
	go func() { tickLoop(stop); close(done) }()
	time.Sleep(50 * time.Millisecond)
	hogged := make(chan int)
	go func() { hogged <- hogTheCore(40 * time.Millisecond) }()
	<-hogged
	time.Sleep(50 * time.Millisecond)
	close(stop)
	<-done
	trace.Stop()
	f.Close()

	var out bytes.Buffer
	if err := run([]string{"-func", "clockstalls.tickLoop", "-gap", "5ms", file}, &out); err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + out.String())
	if !strings.Contains(out.String(), "clockstalls.hogTheCore") {
		t.Error("the report does not name hogTheCore as holding the core during a gap")
	}
	if strings.Contains(out.String(), "fewer than twice") {
		t.Error("the ticking goroutine was not found")
	}
}

func TestUsage(t *testing.T) {
	if err := run(nil, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "usage") {
		t.Errorf("no file: %v, want the usage", err)
	}
	if err := run([]string{filepath.Join(t.TempDir(), "none")}, &bytes.Buffer{}); err == nil {
		t.Error("a missing file: no error")
	}
}
