// Command callgen places SIP calls at hotline at wire speed and measures the RTP it gets
// back, for make bench (scripts/streams.sh, scripts/ivr.sh; docs/benchmarks.md).
//
//	callgen -mode streams -server 127.0.0.1:25360 -calls 2000 -rate 200 -hold 20s -pid PID
//	callgen -mode ivr -server 127.0.0.1:25460 -service ivr -calls 4000 -rate 400 -pid PID
package main

import (
	"context"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net/netip"
	"os"
	"os/signal"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hotline-cc/hotline/internal/callgen"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "callgen:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("callgen", flag.ContinueOnError)
	mode := fs.String("mode", "streams", "streams (hold, then BYE) or ivr (prompt, digit, hotline hangs up)")
	server := fs.String("server", "127.0.0.1:5060", "hotline's SIP address (UDP)")
	local := fs.String("local", "127.0.0.1", "address callgen binds its SIP and RTP sockets to")
	sipPort := fs.Int("sip-port", 0, "callgen's SIP port (0: any free one)")
	service := fs.String("service", "hotline", "Request-URI user: the number dialled")
	caller := fs.String("caller", "+86139", "caller number prefix; the call number follows it")
	calls := fs.Int("calls", 100, "calls to place")
	rate := fs.Float64("rate", 100, "new calls per second")
	hold := fs.Duration("hold", 20*time.Second, "streams: time on hold before the BYE")
	digit := fs.String("digit", "1", "ivr: the key pressed (RFC 4733)")
	digitAfter := fs.Duration("digit-after", 500*time.Millisecond, "ivr: delay from the first prompt packet to the digit")
	hangupWait := fs.Duration("hangup-wait", 20*time.Second, "ivr: longest wait after the answer for hotline's BYE")
	silent := fs.Bool("silent", false, "send no audio (the ivr digit still goes)")
	ports := fs.String("rtp-ports", "40000-49998", "even RTP ports of the calls, MIN-MAX")
	pid := fs.Int("pid", 0, "hotline's process id: report its RSS growth per live call")
	envFile := fs.String("env", "", "also write the figures to FILE as shell variables")
	csvFile := fs.String("csv", "", "write each call's timing to FILE")
	cpuProfile := fs.String("cpuprofile", "", "write callgen's own CPU profile to FILE")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg := callgen.Config{SIPPort: *sipPort, Service: *service, Caller: *caller, Calls: *calls, Rate: *rate, Hold: *hold,
		DigitAfter: *digitAfter, HangupWait: *hangupWait, Silent: *silent, ServerPID: *pid}
	switch *mode {
	case "streams":
		cfg.Mode = callgen.Streams
	case "ivr":
		cfg.Mode = callgen.IVR
	default:
		return fmt.Errorf("-mode %q: want streams or ivr", *mode)
	}
	var err error
	if cfg.Server, err = netip.ParseAddrPort(*server); err != nil {
		return fmt.Errorf("-server %q: want an IPv4 host:port: %w", *server, err)
	}
	if cfg.Local, err = netip.ParseAddr(*local); err != nil {
		return fmt.Errorf("-local %q: %w", *local, err)
	}
	if d := []rune(*digit); len(d) == 1 {
		cfg.Digit = d[0]
	} else {
		return fmt.Errorf("-digit %q: want one key of 0-9*#A-D", *digit)
	}
	lo, hi, ok := strings.Cut(*ports, "-")
	if cfg.RTPPortMin, err = strconv.Atoi(lo); !ok || err != nil {
		return fmt.Errorf("-rtp-ports %q: want MIN-MAX", *ports)
	}
	if cfg.RTPPortMax, err = strconv.Atoi(hi); err != nil {
		return fmt.Errorf("-rtp-ports %q: want MIN-MAX", *ports)
	}

	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	rep, err := callgen.Run(ctx, cfg)
	if rep == nil {
		return err
	}
	printReport(stdout, &cfg, rep)
	if *envFile != "" {
		if werr := os.WriteFile(*envFile, []byte(envVars(rep)), 0o644); werr != nil {
			return werr
		}
	}
	if *csvFile != "" {
		if werr := writeCSV(*csvFile, rep); werr != nil {
			return werr
		}
	}
	return err
}

func ms(d time.Duration) string { return strconv.FormatFloat(float64(d)/1e6, 'f', 2, 64) }

func printReport(w io.Writer, cfg *callgen.Config, r *callgen.Report) {
	audio := "a 400 Hz tone sent both ways"
	if cfg.Silent {
		audio = "no audio sent"
	}
	switch cfg.Mode {
	case callgen.Streams:
		fmt.Fprintf(w, "callgen streams: %d calls at %g/s to %s@%s, hold %s, %s\n", r.Calls, cfg.Rate, cfg.Service, cfg.Server, cfg.Hold, audio)
	case callgen.IVR:
		fmt.Fprintf(w, "callgen ivr: %d calls at %g/s to %s@%s, digit %c %s after the prompt starts, %s\n",
			r.Calls, cfg.Rate, cfg.Service, cfg.Server, cfg.Digit, cfg.DigitAfter, audio)
	}
	fmt.Fprintf(w, "  calls         %d placed, %d answered, %d ok, %d failed\n", r.Calls, r.Answered, r.OK, r.Failed())
	for _, reason := range slices.Sorted(maps.Keys(r.Failures)) {
		fmt.Fprintf(w, "  failed        %d: %s\n", r.Failures[reason], reason)
	}
	fmt.Fprintf(w, "  retransmits   %d (%.3f %% of calls)\n", r.Retransmissions, pct(r.Retransmissions, r.Calls))
	fmt.Fprintf(w, "  INVITE->200   p50 %s ms  p99 %s ms  max %s ms\n", ms(r.Setup.Percentile(50)), ms(r.Setup.Percentile(99)), ms(r.Setup.Max()))
	rx := r.RX
	rule := "every arrival"
	if cfg.Mode == callgen.IVR {
		rule = "next frame only: seq+1, timestamp+160, no marker"
	}
	fmt.Fprintf(w, "  RTP received  %d packets, %d streams; lost %d (%d of them by callgen's full socket buffers), reordered %d, duplicates %d\n",
		rx.Packets, rx.Streams, rx.Lost, r.SocketDrops, rx.Reordered, rx.Duplicates)
	fmt.Fprintf(w, "  spacing       p50 %s ms  p99 %s ms  p99.9 %s ms  max %s ms  (%d spacings; %s)\n",
		ms(rx.Spacing.Percentile(50)), ms(rx.Spacing.Percentile(99)), ms(rx.Spacing.Percentile(99.9)), ms(rx.Spacing.Max()), rx.Spacing.Count(), rule)
	fmt.Fprintf(w, "  gaps > 40 ms  %d\n", rx.Gaps)
	if cfg.Mode == callgen.IVR {
		fmt.Fprintf(w, "  digits sent   %d\n", r.DigitsSent)
	}
	fmt.Fprintf(w, "  live calls    %d at the peak; %d receiving RTP at once (a packet within 100 ms)\n", r.PeakLive, r.PeakStreaming)
	if r.RSSBase > 0 {
		fmt.Fprintf(w, "  server RSS    %d MiB before, %d MiB at the peak: %.1f KiB per live call\n", r.RSSBase/1024, r.RSSPeak/1024, r.KiBPerCall())
	}
	busy := func(d time.Duration) float64 { return 100 * d.Seconds() / r.Elapsed.Seconds() }
	if cfg.ServerPID != 0 {
		fmt.Fprintf(w, "  server CPU    %.0f %% of a core over %.1f s\n", busy(r.ServerCPU), r.Elapsed.Seconds())
	}
	fmt.Fprintf(w, "  callgen       %.0f %% of a core; RTP sent %d (%d refused, %d frames skipped running late); SIP refused %d\n",
		busy(r.CPU), r.RTPSent, r.RTPSendErrors, r.FramesSkipped, r.SIPSendErrors)
	fmt.Fprintf(w, "                send tick late <= %s ms; longest round of work %s ms; woken late <= %s ms\n",
		ms(r.TickLateMax), ms(r.RoundMax), ms(r.WakeLateMax))
	fmt.Fprintf(w, "  other load    %.0f %% of a core used by other processes during the run\n", busy(r.OtherCPU))
}

func pct(n, of int) float64 {
	if of == 0 {
		return 0
	}
	return 100 * float64(n) / float64(of)
}

// envVars are the figures as shell assignments, for the bench scripts to source.
func envVars(r *callgen.Report) string {
	var b strings.Builder
	v := func(k string, val any) { fmt.Fprintf(&b, "%s=%v\n", k, val) }
	v("calls", r.Calls)
	v("answered", r.Answered)
	v("ok", r.OK)
	v("failed", r.Failed())
	v("retrans", r.Retransmissions)
	v("setup_p50_ms", ms(r.Setup.Percentile(50)))
	v("setup_p99_ms", ms(r.Setup.Percentile(99)))
	v("setup_max_ms", ms(r.Setup.Max()))
	v("packets", r.RX.Packets)
	v("lost", r.RX.Lost)
	v("socket_drops", r.SocketDrops)
	v("reordered", r.RX.Reordered)
	v("spacing_p50_ms", ms(r.RX.Spacing.Percentile(50)))
	v("spacing_p99_ms", ms(r.RX.Spacing.Percentile(99)))
	v("spacing_p999_ms", ms(r.RX.Spacing.Percentile(99.9)))
	v("spacing_max_ms", ms(r.RX.Spacing.Max()))
	v("gaps", r.RX.Gaps)
	v("digits_sent", r.DigitsSent)
	v("peak_live", r.PeakLive)
	v("peak_streaming", r.PeakStreaming)
	v("kib_per_call", strconv.FormatFloat(r.KiBPerCall(), 'f', 1, 64))
	busy := func(d time.Duration) string {
		return strconv.FormatFloat(100*d.Seconds()/r.Elapsed.Seconds(), 'f', 0, 64)
	}
	v("callgen_cpu_pct", busy(r.CPU))
	v("frames_skipped", r.FramesSkipped)
	v("server_cpu_pct", busy(r.ServerCPU))
	v("other_cpu_pct", busy(r.OtherCPU))
	return b.String()
}

func writeCSV(path string, r *callgen.Report) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	_ = w.Write([]string{"call", "invite_to_200_ms", "answer_to_first_rtp_ms", "rtp_packets", "digit_sent", "hung_up_by", "result"})
	for i, c := range r.Per {
		setup, first := "", ""
		if c.Answered {
			setup = ms(c.Setup)
		}
		if c.FirstRTP != 0 {
			first = ms(c.FirstRTP)
		}
		_ = w.Write([]string{strconv.Itoa(i), setup, first, strconv.FormatUint(c.Packets, 10), strconv.FormatBool(c.DigitSent), c.HungUpBy, c.Result})
	}
	w.Flush()
	return errors.Join(w.Error(), f.Close())
}
