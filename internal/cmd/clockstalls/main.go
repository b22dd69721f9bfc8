// Command clockstalls reads a Go execution trace of hotline serve and finds the moments its
// media clock ran late: every gap between two runs of the clock's goroutine longer than -gap,
// and for each, what held the time meanwhile (goroutines running, system calls in progress,
// a GC mark phase) and how much of it nothing in the process ran at all. A gap in which
// nothing ran points outside the process (the core or the virtual machine was taken away);
// one spent in a goroutine points at that code.
//
// Take the trace from a server started with --pprof, under load:
//
//	curl -o trace.out 'http://127.0.0.1:6060/debug/pprof/trace?seconds=8'
//	go run ./internal/cmd/clockstalls trace.out
//
// -func names the goroutine by a function on its stack (default the media clock's run loop),
// so the same report works for the RTP poller ("(*rtpPoller).run") or any other loop.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"golang.org/x/exp/trace"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "clockstalls:", err)
		os.Exit(1)
	}
}

func run(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("clockstalls", flag.ContinueOnError)
	fn := fs.String("func", "(*mediaClock).run", "the watched goroutine: a function on its stack (a substring of the name)")
	gap := fs.Duration("gap", 8*time.Millisecond, "report gaps between the goroutine's runs longer than this")
	top := fs.Int("top", 10, "report at most this many gaps, the longest first")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("want one trace file; usage: clockstalls [-func F] [-gap D] [-top N] trace.out")
	}
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		return err
	}
	defer f.Close()
	tr, err := read(f, *fn)
	if err != nil {
		return err
	}
	tr.report(out, *gap, *top)
	return nil
}

// span is a stretch of time a goroutine held: running, or in a system call.
type span struct {
	start, end trace.Time
	what       string // the stack where it stopped (running) or entered the call ("syscall: ...")
}

type traced struct {
	first, last trace.Time
	watched     []span // the watched goroutine's runs, in order
	spans       []span // every goroutine's runs and system calls, in the order they ended
	gcs         []span // GC mark phases
}

func read(r io.Reader, fn string) (*traced, error) {
	rd, err := trace.NewReader(r)
	if err != nil {
		return nil, err
	}
	t := &traced{}
	since := map[trace.GoID]trace.Time{} // running or in a call since
	callAt := map[trace.GoID]string{}    // the stack a call was entered at
	watched := map[trace.GoID]bool{}
	var gcFrom trace.Time
	for {
		ev, err := rd.ReadEvent()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if t.first == 0 {
			t.first = ev.Time()
		}
		t.last = ev.Time()
		switch ev.Kind() {
		case trace.EventRangeBegin:
			if strings.HasPrefix(ev.Range().Name, "GC concurrent mark") {
				gcFrom = ev.Time()
			}
		case trace.EventRangeEnd:
			if strings.HasPrefix(ev.Range().Name, "GC concurrent mark") && gcFrom != 0 {
				t.gcs = append(t.gcs, span{start: gcFrom, end: ev.Time(), what: "GC mark"})
			}
		case trace.EventStateTransition:
			st := ev.StateTransition()
			if st.Resource.Kind != trace.ResourceGoroutine {
				continue
			}
			g := st.Resource.Goroutine()
			from, to := st.Goroutine()
			if from == to {
				continue
			}
			if from == trace.GoRunning || from == trace.GoSyscall {
				what := stackText(st.Stack)
				if what == "" {
					what = stackText(ev.Stack())
				}
				if strings.Contains(what, fn) {
					watched[g] = true
				}
				if to == trace.GoSyscall {
					callAt[g] = what
				}
				if from == trace.GoSyscall {
					what = "syscall: " + callAt[g]
				}
				if t0, ok := since[g]; ok {
					s := span{start: t0, end: ev.Time(), what: what}
					t.spans = append(t.spans, s)
					if watched[g] && from == trace.GoRunning {
						t.watched = append(t.watched, s)
					}
					delete(since, g)
				}
			}
			if to == trace.GoRunning || to == trace.GoSyscall {
				since[g] = ev.Time()
			}
		}
	}
	sort.Slice(t.spans, func(i, j int) bool { return t.spans[i].start < t.spans[j].start })
	return t, nil
}

// stackText is a stack's innermost frames, "f < caller < ...".
func stackText(s trace.Stack) string {
	var b strings.Builder
	n := 0
	for f := range s.Frames() {
		if n > 0 {
			b.WriteString(" < ")
		}
		b.WriteString(f.Func)
		if n++; n == 5 {
			break
		}
	}
	return b.String()
}

func (t *traced) report(w io.Writer, gap time.Duration, top int) {
	fmt.Fprintf(w, "trace of %v: %d runs of the watched goroutine, %d GC mark phases\n",
		time.Duration(t.last-t.first).Round(time.Millisecond), len(t.watched), len(t.gcs))
	if len(t.watched) < 2 {
		fmt.Fprintln(w, "the watched goroutine ran fewer than twice: nothing to measure (see -func)")
		return
	}
	var gaps []span
	// The gaps by length: under 2 ms, 2-5, 5-10, 10-20 and 20 ms or more.
	bounds := [...]time.Duration{2 * time.Millisecond, 5 * time.Millisecond, 10 * time.Millisecond, 20 * time.Millisecond}
	var counts [len(bounds) + 1]int
	for i := 1; i < len(t.watched); i++ {
		g := span{start: t.watched[i-1].end, end: t.watched[i].start}
		d := time.Duration(g.end - g.start)
		k := 0
		for k < len(bounds) && d >= bounds[k] {
			k++
		}
		counts[k]++
		if d > gap {
			gaps = append(gaps, g)
		}
	}
	fmt.Fprintf(w, "gaps between runs: < 2 ms %d, 2-5 ms %d, 5-10 ms %d, 10-20 ms %d, >= 20 ms %d\n",
		counts[0], counts[1], counts[2], counts[3], counts[4])
	sort.Slice(gaps, func(i, j int) bool { return gaps[i].end-gaps[i].start > gaps[j].end-gaps[j].start })
	for i, g := range gaps {
		if i == top {
			fmt.Fprintf(w, "(%d more gaps over %v)\n", len(gaps)-top, gap)
			break
		}
		t.explain(w, g)
	}
}

// explain prints what held the time of one gap, the largest holders first.
func (t *traced) explain(w io.Writer, g span) {
	d := time.Duration(g.end - g.start)
	held := map[string]time.Duration{}
	var busy time.Duration
	for _, s := range t.spans {
		if s.start >= g.end {
			break
		}
		if s.end <= g.start {
			continue
		}
		o := time.Duration(min(s.end, g.end) - max(s.start, g.start))
		held[s.what] += o
		busy += o
	}
	gc := ""
	for _, m := range t.gcs {
		if m.start < g.end && m.end > g.start {
			gc = ", during a GC mark phase"
		}
	}
	fmt.Fprintf(w, "gap of %v at +%v%s; nothing in the process ran for %v of it\n",
		d.Round(10*time.Microsecond), time.Duration(g.start-t.first).Round(time.Millisecond), gc,
		max(d-busy, 0).Round(10*time.Microsecond))
	type holder struct {
		what string
		d    time.Duration
	}
	var hs []holder
	for k, v := range held {
		hs = append(hs, holder{k, v})
	}
	sort.Slice(hs, func(i, j int) bool { return hs[i].d > hs[j].d })
	for i, h := range hs {
		if i == 4 {
			break
		}
		fmt.Fprintf(w, "  %9v  %s\n", h.d.Round(10*time.Microsecond), h.what)
	}
}
