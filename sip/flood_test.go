package sip

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/call"
	"github.com/hotline-cc/hotline/internal/sipptest"
	"github.com/hotline-cc/hotline/internal/testenv"
)

// The flood test of issue 14, shortened for make test: while one source (127.0.0.2) floods
// INVITEs, REGISTERs or OPTIONS at 1000/s, a second source (127.0.0.3) calls at 10/s, is
// answered, holds half a second and hangs up. With the default limits nearly all legitimate
// calls are answered fast, the flood is mostly refused with 503, and memory stays put.
// Before admission control the same INVITE flood made legitimate calls wait 8 s (p50) and
// the server grow by 500 MiB. scripts/flood.sh (make bench) is the full-size run.
//
// The bounds are looser than the benchmark's (p99 1 s rather than 200 ms; p50 200 ms) because
// here the server shares two cores with both sipps and whatever else CI runs, unpinned: a
// legitimate INVITE the kernel drops while the server is descheduled costs sipp's 500 ms
// retransmission. Without admission control p50 was 8 s.
func TestFloodLeavesLegitimateCallsAlone(t *testing.T) {
	if testing.Short() {
		t.Skip("flood test: seconds of sipp load")
	}
	const (
		secs       = 8
		floodRate  = 1000
		legitRate  = 10
		legitCalls = secs * legitRate
	)
	srv := startServer(t, func(ch call.Channel) {
		if err := ch.Answer(ch.Context()); err != nil {
			return
		}
		<-ch.Context().Done()
	})
	for _, f := range []struct {
		name, scenario string
		k              kind
	}{
		{"INVITE", "flood_invite.xml", kindInvite},
		{"REGISTER", "flood_register.xml", kindRegister},
		{"OPTIONS", "flood_options.xml", kindOptions},
	} {
		t.Run(f.name, func(t *testing.T) {
			refused0 := refusedTotal(f.k)
			rss0 := vmRSS(t)
			flood := startFlood(t, f.scenario, srv.addr, floodRate, floodRate*secs)
			time.Sleep(500 * time.Millisecond) // the flood is on before the first call
			peak := rss0
			stopSampling := sampleRSS(t, &peak)
			legit := sipptest.Start(t, sipptest.Options{
				Scenario: "uac_hold.xml", Target: srv.addr, Service: "hotline",
				Calls: legitCalls, Rate: legitRate, Pause: 500 * time.Millisecond, Timeout: (secs + 20) * time.Second,
				Args: []string{"-i", "127.0.0.3", "-mi", "127.0.0.3", "-recv_timeout", "8000", "-trace_rtt", "-rtt_freq", "1"},
			})
			legit.Wait()
			sent := flood.wait(t)
			stopSampling()

			answered := sippCounter(legit.Log(), "Successful call")
			setup := rtts(t, legit.Dir())
			refused := refusedTotal(f.k) - refused0
			t.Logf("%s flood: legit answered %d/%d, INVITE->200 p50 %v p90 %v p99 %v max %v; flood sent %d, refused %.0f (%.1f%%); RSS %d -> peak %d MiB",
				f.name, answered, legitCalls, pct(setup, 50), pct(setup, 90), pct(setup, 99), pct(setup, 100), sent, refused, 100*refused/float64(max(sent, 1)), rss0>>10, peak>>10)
			if answered*100 < legitCalls*99 {
				t.Errorf("only %d of %d legitimate calls answered during the flood, want >= 99%%\n%s", answered, legitCalls, legit.Log())
			}
			if p50, p99 := pct(setup, 50), pct(setup, 99); p50 > 200*time.Millisecond || p99 > time.Second {
				t.Errorf("legitimate INVITE->200 p50 %v, p99 %v during the flood, want <= 200 ms and <= 1 s (the benchmark asks p99 200 ms on a pinned core)", p50, p99)
			}
			if sent < floodRate*secs/2 {
				t.Fatalf("sipp flooded only %d requests of %d: the flood did not happen\n%s", sent, floodRate*secs, flood.out.String())
			}
			if refused < 0.9*float64(sent) {
				t.Errorf("%.0f of %d flood requests refused, want most (>= 90%%)", refused, sent)
			}
			if grew := (peak - rss0) >> 10; grew > 100 {
				t.Errorf("RSS grew by %d MiB during the flood, want it bounded (< 100 MiB)", grew)
			}
		})
	}
}

func refusedTotal(k kind) float64 {
	var n float64
	for r := reasonCalls; r < reasons; r++ {
		n += counterValue(refusedCounters[k][r])
	}
	return n
}

// floodProc is a flooding sipp, run without sipptest's message trace (which a flood would
// fill with tens of megabytes).
type floodProc struct {
	cmd  *exec.Cmd
	out  strings.Builder
	done chan error
}

func startFlood(t *testing.T, scenario, target string, rate, total int) *floodProc {
	t.Helper()
	bin := testenv.Tool(t, "sipp")
	port, mport := sipptest.FreeUDPPort(t), sipptest.FreeUDPPort(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(total/rate+30)*time.Second)
	f := &floodProc{done: make(chan error, 1)}
	f.cmd = exec.CommandContext(ctx, bin, "-sf", filepath.Join(sipptest.Dir(), scenario), "-s", "hotline",
		"-key", "caller", "1001", "-i", "127.0.0.2", "-p", strconv.Itoa(port), "-mi", "127.0.0.2", "-mp", strconv.Itoa(mport),
		"-r", strconv.Itoa(rate), "-m", strconv.Itoa(total), "-l", "100000", "-recv_timeout", "5000",
		"-timeout", fmt.Sprintf("%ds", total/rate+20), "-nostdin", target)
	f.cmd.Dir = t.TempDir()
	f.cmd.Stdout, f.cmd.Stderr = &f.out, &f.out
	if err := f.cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start sipp: %v", err)
	}
	go func() { f.done <- f.cmd.Wait(); cancel() }()
	t.Cleanup(func() { _ = f.cmd.Process.Kill(); <-f.done })
	return f
}

// wait is how many requests the flood sent (calls sipp created).
func (f *floodProc) wait(t *testing.T) int {
	err := <-f.done
	f.done <- err // for the cleanup
	return sippCounter(f.out.String(), "Outgoing calls created")
}

// sippCounter is a cumulative counter of sipp's final statistics screen.
func sippCounter(out, name string) int {
	m := regexp.MustCompile(regexp.QuoteMeta(name)+`\s*\|\s*\d+\s*\|\s*(\d+)`).FindAllStringSubmatch(out, -1)
	if len(m) == 0 {
		return 0
	}
	n, _ := strconv.Atoi(m[len(m)-1][1])
	return n
}

// rtts are the INVITE->200 times sipp's -trace_rtt wrote in dir (Date_ms;response_time_ms;rtd_no).
func rtts(t *testing.T, dir string) []time.Duration {
	files, _ := filepath.Glob(filepath.Join(dir, "*_rtt.csv"))
	var ds []time.Duration
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(data), "\n")[1:] {
			if fs := strings.Split(line, ";"); len(fs) >= 2 {
				if ms, err := strconv.ParseFloat(fs[1], 64); err == nil {
					ds = append(ds, time.Duration(ms*float64(time.Millisecond)))
				}
			}
		}
	}
	slices.Sort(ds)
	return ds
}

// pct is the p-th percentile of sorted ds; an hour (a failure) when there are none.
func pct(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return time.Hour
	}
	return ds[min(len(ds)-1, p*len(ds)/100)]
}

// vmRSS is this process's resident memory in KiB.
func vmRSS(t *testing.T) int {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.Atoi(strings.Fields(v)[0])
			return n
		}
	}
	return 0
}

// sampleRSS keeps the peak of vmRSS in *peak until the returned stop is called.
func sampleRSS(t *testing.T, peak *int) (stop func()) {
	done, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				*peak = max(*peak, vmRSS(t))
			}
		}
	}()
	return func() { close(done); <-stopped }
}
