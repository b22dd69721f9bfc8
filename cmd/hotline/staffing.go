package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hotline-cc/hotline/center"
	"github.com/hotline-cc/hotline/config"
	"github.com/hotline-cc/hotline/reports"
	"github.com/hotline-cc/hotline/staffing"
)

const staffingUsage = `usage: hotline staffing --calls-per-hour N --aht DURATION [--target 80/20s] [--shrinkage 30%] [--max-occupancy 85%] [--json]
       hotline staffing --calls N --period 30m --aht DURATION ...
       hotline staffing --history --queue NAME [--weeks 4] [--config FILE] [--data-dir DIR] [--tz ZONE] [--target ...] [--shrinkage ...]

Erlang C: the agents needed to answer the target share of calls within the target time,
with the probability of waiting, the expected service level, ASA and occupancy.
--history takes the calls per hour and AHT of each hour of the week from the last weeks'
stored contacts.

`

// staffingCommand runs `hotline staffing`.
func staffingCommand(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("staffing", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, staffingUsage); fs.PrintDefaults() }
	perHour := fs.String("calls-per-hour", "", "calls offered per hour")
	calls := fs.String("calls", "", "calls offered in --period")
	period := fs.String("period", "", "the time --calls arrive in, e.g. 30m")
	aht := fs.String("aht", "", "average handle time (talk + hold + wrap-up), e.g. 4m or 180s")
	target := fs.String("target", "80/20s", "service-level target: share of calls answered within a time")
	shrink := fs.String("shrinkage", "0%", "share of paid time not on the phones (breaks, training, absence)")
	maxOcc := fs.String("max-occupancy", "", "add agents until occupancy is at most this, e.g. 85%")
	asJSON := fs.Bool("json", false, "print JSON")
	history := fs.Bool("history", false, "staff each hour of the week from stored traffic")
	queue := fs.String("queue", "", "queue, with --history")
	weeks := fs.Int("weeks", 4, "weeks of history, with --history (1 to 52)")
	cfgPath := fs.String("config", "", "configuration file, with --history (default: the sample configuration)")
	dataDir := fs.String("data-dir", "", "data directory, overrides data_dir, with --history")
	tz := fs.String("tz", "", "time zone of the hours, with --history (default: the local zone)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "hotline staffing: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	bad := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "hotline staffing: "+format+"\n", a...)
		return 2
	}
	tg, err := staffing.ParseTarget(*target)
	if err != nil {
		return bad("--target %q: write LEVEL/TIME, e.g. 80/20s", *target)
	}
	sh, err := staffing.ParsePercent(*shrink)
	if err != nil || sh < 0 || sh >= 1 {
		return bad("--shrinkage %q: a percentage from 0%% to below 100%%, e.g. 30%%", *shrink)
	}
	var mo float64
	if *maxOcc != "" {
		if mo, err = staffing.ParsePercent(*maxOcc); err != nil || mo <= 0 || mo > 1 {
			return bad("--max-occupancy %q: a percentage above 0%% and up to 100%%, e.g. 85%%", *maxOcc)
		}
	}
	if *history {
		if *perHour != "" || *calls != "" || *aht != "" {
			return bad("--history takes the calls and AHT from the store; drop --calls-per-hour, --calls and --aht")
		}
		return staffingHistory(*cfgPath, *dataDir, *queue, *weeks, *tz, tg, sh, *asJSON, stdout, stderr)
	}
	in := staffing.Input{Target: tg, Shrinkage: sh, MaxOccupancy: mo}
	switch {
	case *perHour != "" && *calls != "":
		return bad("give --calls-per-hour, or --calls with --period, not both")
	case *perHour != "":
		if in.CallsPerHour, err = strconv.ParseFloat(*perHour, 64); err != nil || in.CallsPerHour < 0 {
			return bad("--calls-per-hour %q: a number of calls, 0 or more", *perHour)
		}
	case *calls != "":
		n, err := strconv.ParseFloat(*calls, 64)
		if err != nil || n < 0 {
			return bad("--calls %q: a number of calls, 0 or more", *calls)
		}
		p, err := parseSeconds(*period)
		if err != nil || p <= 0 {
			return bad("--period %q: the time the calls arrive in, e.g. 30m", *period)
		}
		in.CallsPerHour = n / p.Hours()
	default:
		fs.Usage()
		return bad("--calls-per-hour (or --calls with --period) is required")
	}
	if in.AHT, err = parseSeconds(*aht); err != nil || in.AHT <= 0 {
		return bad("--aht %q: the average handle time, e.g. 4m or 180s", *aht)
	}
	res, err := staffing.Solve(in)
	if err != nil {
		return bad("%v", strings.TrimPrefix(err.Error(), "staffing: invalid input: "))
	}
	if *asJSON {
		return printJSON(stdout, staffingJSON(res))
	}
	printStaffing(stdout, res)
	return 0
}

// parseSeconds reads 4m, 180s or a plain number of seconds.
func parseSeconds(s string) (time.Duration, error) {
	if n, err := strconv.ParseFloat(s, 64); err == nil {
		return time.Duration(n * float64(time.Second)), nil
	}
	return time.ParseDuration(s)
}

func pct(v float64) string { return strconv.FormatFloat(v*100, 'f', 1, 64) + "%" }

func asa(d time.Duration) string {
	if d < 0 {
		return "∞"
	}
	return strconv.FormatFloat(d.Seconds(), 'f', 1, 64) + " s"
}

func printStaffing(w io.Writer, r staffing.Result) {
	fmt.Fprintf(w, "Traffic:   %.2f erlangs (%s calls/h × AHT %s)\n", r.Traffic, strconv.FormatFloat(r.CallsPerHour, 'f', -1, 64), r.AHT)
	fmt.Fprintf(w, "Target:    %s of calls answered within %s\n", pct(r.Target.Level), r.Target.Within)
	fmt.Fprintf(w, "Agents:    %d on the phones", r.Agents)
	if r.Shrinkage > 0 {
		fmt.Fprintf(w, ", %d scheduled with %s shrinkage", r.Scheduled, pct(r.Shrinkage))
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "Expected:  service level %s, P(wait) %s, ASA %s, occupancy %s\n\n", pct(r.ServiceLevel), pct(r.ProbWait), asa(r.ASA), pct(r.Occupancy))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "agents\tP(wait)\tservice level\tASA\toccupancy\t")
	for _, f := range r.Table {
		mark := ""
		if f.Agents == r.Agents {
			mark = " ←"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", f.Agents, pct(f.ProbWait), pct(f.ServiceLevel), asa(f.ASA), pct(f.Occupancy), mark)
	}
	tw.Flush()
}

type figuresJSON struct {
	Agents          int      `json:"agents"`
	ProbabilityWait float64  `json:"probability_wait"`
	ServiceLevel    float64  `json:"service_level"`
	ASA             *float64 `json:"asa_seconds"`
	Occupancy       float64  `json:"occupancy"`
}

func figJSON(f staffing.Figures) figuresJSON {
	j := figuresJSON{Agents: f.Agents, ProbabilityWait: f.ProbWait, ServiceLevel: f.ServiceLevel, Occupancy: f.Occupancy}
	if f.ASA >= 0 {
		s := f.ASA.Seconds()
		j.ASA = &s
	}
	return j
}

func staffingJSON(r staffing.Result) map[string]any {
	table := []figuresJSON{}
	for _, f := range r.Table {
		table = append(table, figJSON(f))
	}
	return map[string]any{
		"calls_per_hour": r.CallsPerHour, "aht_seconds": r.AHT.Seconds(), "target": r.Target.String(),
		"shrinkage": r.Shrinkage, "traffic_erlangs": r.Traffic, "agents": r.Agents, "scheduled_agents": r.Scheduled,
		"expected": figJSON(r.Figures), "table": table,
	}
}

func printJSON(w io.Writer, v any) int {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return 1
	}
	return 0
}

func staffingHistory(cfgPath, dataDir, queue string, weeks int, tz string, tg staffing.Target, sh float64, asJSON bool, stdout, stderr io.Writer) int {
	cfg, err := config.Load(cfgPath)
	if err != nil {
		fmt.Fprintf(stderr, "hotline staffing: configuration is not valid:\n%v\n", err)
		return 1
	}
	if dataDir != "" {
		cfg.DataDir = dataDir
	}
	rules := center.ReportRules(cfg)
	if _, ok := rules[queue]; !ok {
		names := []string{}
		for _, q := range cfg.Queues {
			names = append(names, q.Name)
		}
		fmt.Fprintf(stderr, "hotline staffing: --queue %q: use one of %s\n", queue, strings.Join(names, ", "))
		return 2
	}
	loc := time.Local
	if tz != "" {
		if loc, err = time.LoadLocation(tz); err != nil {
			fmt.Fprintf(stderr, "hotline staffing: --tz %q is not an IANA time zone\n", tz)
			return 2
		}
	}
	ctx := context.Background()
	store, err := center.OpenStore(ctx, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "hotline staffing: %v\n", err)
		return 1
	}
	defer store.Close()
	hours, err := reports.Traffic(ctx, store, rules, queue, weeks, time.Now(), loc)
	if err != nil {
		fmt.Fprintf(stderr, "hotline staffing: %v\n", err)
		return 2
	}
	type row struct {
		Weekday      string   `json:"weekday"`
		Hour         int      `json:"hour"`
		CallsPerHour float64  `json:"calls_per_hour"`
		AHT          float64  `json:"aht_seconds"`
		Agents       int      `json:"agents"`
		Scheduled    int      `json:"scheduled_agents"`
		ServiceLevel float64  `json:"service_level"`
		ASA          *float64 `json:"asa_seconds"`
		Occupancy    float64  `json:"occupancy"`
	}
	var rows []row
	for _, h := range hours {
		a := h.AHT
		if a <= 0 {
			a = acdDefaultHandle
		}
		res, err := staffing.Solve(staffing.Input{CallsPerHour: h.CallsPerHour, AHT: a, Target: tg, Shrinkage: sh})
		if err != nil {
			fmt.Fprintf(stderr, "hotline staffing: %v\n", err)
			return 1
		}
		f := figJSON(res.Figures)
		rows = append(rows, row{h.Weekday.String(), h.Hour, h.CallsPerHour, a.Seconds(), res.Agents, res.Scheduled, f.ServiceLevel, f.ASA, f.Occupancy})
	}
	if asJSON {
		return printJSON(stdout, rows)
	}
	fmt.Fprintf(stdout, "Queue %s, the %d week(s) before today (%s), target %s within %s", queue, weeks, loc, pct(tg.Level), tg.Within)
	if sh > 0 {
		fmt.Fprintf(stdout, ", shrinkage %s", pct(sh))
	}
	fmt.Fprintln(stdout, "; hours without calls are left out.")
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "day\thour\tcalls/h\tAHT\tagents\tscheduled\tservice level\tASA\t")
	shown := 0
	for _, r := range rows {
		if r.CallsPerHour == 0 {
			continue
		}
		shown++
		a := "–"
		if r.ASA != nil {
			a = strconv.FormatFloat(*r.ASA, 'f', 1, 64) + " s"
		}
		fmt.Fprintf(tw, "%s\t%02d:00\t%.1f\t%.0f s\t%d\t%d\t%s\t%s\t\n", r.Weekday[:3], r.Hour, r.CallsPerHour, r.AHT, r.Agents, r.Scheduled, pct(r.ServiceLevel), a)
	}
	tw.Flush()
	if shown == 0 {
		fmt.Fprintln(stdout, "No calls were offered to the queue in that time.")
	}
	return 0
}

// acdDefaultHandle is the handle time assumed for hours with no handled call and no history.
const acdDefaultHandle = 3 * time.Minute
