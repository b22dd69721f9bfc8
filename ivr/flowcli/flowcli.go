// Package flowcli is `hotline flow`: check, sim, test and graph for flow files, as a function
// the hotline command calls. It reads files and prints; it never carries calls, and it reads
// the configuration file only through the Loader it is given.
package flowcli

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/hotline-cc/hotline/flows"
	"github.com/hotline-cc/hotline/ivr"
	"github.com/hotline-cc/hotline/ivr/sim"
)

const usage = `usage: hotline flow <command> [flags] [files]

  check [FILE...]          check flows against the configuration; prints file:line:col: message
                           for every problem and exits 1 if there is any (no FILE: the
                           configured flows.dir, or the shipped flows, and then also the
                           queues' priority rules of the configuration, which read them)
  sim FILE                 walk one simulated call through a flow and print its path
        --caller NUMBER    the caller's number (default +8613800138000)
        --dialed NUMBER    the number dialed (default 4008)
        --digits 2,1       what the caller presses at each prompt (digits, timeout, hangup);
                           without --digits the sim asks you at each prompt
        --at TIME          when the call happens, like 2026-11-24T21:00+08:00, or now
                           (default Tue 2026-11-24 10:00 +08:00, inside office hours)
        --queue EXIT       how queues end: answered, timeout, callback, voicemail, full,
                           no_agents, hangup (default answered)
        --customer NAME    lookup finds this customer (--vip makes them a VIP)
        --webhook MATCH=JSON  answer webhook requests whose URL contains MATCH with JSON
  test [FILE|DIR...]       run flow test files (default flows/tests, or the shipped tests)
        -v                 list every case, not only failures
  graph FILE               print the flow as a Mermaid flowchart (--dot: Graphviz DOT)

  every command takes --config FILE (default: the sample configuration) to know the
  queues, schedules, prompts and languages flows may use
`

// Loader reads the configuration file at path ("" = the sample configuration) and gives
// the catalog flows are checked against and the configured flows directory ("" = the shipped
// flows). The hotline command passes center.LoadFlowCatalog.
type Loader func(path string) (cat *ivr.Catalog, flowsDir string, err error)

// Main runs `hotline flow` with args (after "flow"), reading --config files with load. It
// returns the exit status: 0 clean, 1 problems found or tests failed, 2 bad usage.
func Main(load Loader, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "check":
		return check(load, rest, stdout, stderr)
	case "sim":
		return simulate(load, rest, stdin, stdout, stderr)
	case "test":
		return test(load, rest, stdout, stderr)
	case "graph":
		return graph(load, rest, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "hotline flow: unknown command %q\n\n%s", cmd, usage)
	return 2
}

// parse parses flags that may come before or after the positional arguments.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func newFlags(name string, stderr io.Writer) (*flag.FlagSet, *string) {
	fs := flag.NewFlagSet("hotline flow "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage) }
	cfg := fs.String("config", "", "configuration file (default: the sample configuration)")
	return fs, cfg
}

// catalog builds what flows are checked against from a configuration file.
func catalog(load Loader, cfgPath string) (*ivr.Catalog, string, error) {
	cat, dir, err := load(cfgPath)
	if err != nil {
		return nil, "", fmt.Errorf("configuration: %w", err)
	}
	return cat, dir, nil
}

// group is flow files of one directory, checked together with their siblings so gotos resolve.
type group struct {
	dir   string
	files []string // as the user wrote them
}

func groupFiles(files []string) []group {
	var groups []group
	index := map[string]int{}
	for _, f := range files {
		dir := filepath.Dir(f)
		i, ok := index[dir]
		if !ok {
			i = len(groups)
			index[dir] = i
			groups = append(groups, group{dir: dir})
		}
		groups[i].files = append(groups[i].files, f)
	}
	return groups
}

// compileGroup compiles the given files of one directory with their sibling flows. mine are
// the diagnostics of the given files, all those of every file compiled.
func compileGroup(g group, cat *ivr.Catalog) (set *ivr.Set, mine, all ivr.Diagnostics, err error) {
	given := map[string]string{} // clean path -> as written
	var srcs []ivr.Source
	for _, f := range g.files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, nil, nil, err
		}
		given[filepath.Clean(f)] = f
		srcs = append(srcs, ivr.Source{File: f, Data: b})
	}
	sibs, err := ivr.ReadSources(os.DirFS(g.dir), g.dir)
	if err != nil {
		return nil, nil, nil, err
	}
	for _, s := range sibs {
		if _, ok := given[filepath.Clean(s.File)]; !ok {
			srcs = append(srcs, s)
		}
	}
	set, all = ivr.Compile(cat, srcs...)
	for _, d := range all {
		if _, ok := given[filepath.Clean(d.File)]; ok {
			mine = append(mine, d)
		}
	}
	return set, mine, all, nil
}

func check(load Loader, args []string, stdout, stderr io.Writer) int {
	fs, cfgPath := newFlags("check", stderr)
	files, err := parse(fs, args)
	if err != nil {
		return 2
	}
	cat, flowsDir, err := catalog(load, *cfgPath)
	if err != nil {
		fmt.Fprintf(stderr, "hotline flow check: %v\n", err)
		return 2
	}
	var diags ivr.Diagnostics
	if len(files) == 0 {
		fsys, label := configuredFlows(flowsDir)
		srcs, err := ivr.ReadSources(fsys, label)
		if err != nil {
			fmt.Fprintf(stderr, "hotline flow check: %v\n", err)
			return 2
		}
		var set *ivr.Set
		set, diags = ivr.Compile(cat, srcs...)
		// The configuration's queue rules read what these flows hand a queue.
		_, rules := ivr.CheckQueueRules(set, cat.QueueRules)
		diags = append(diags, rules...)
	} else {
		for _, g := range groupFiles(files) {
			_, d, _, err := compileGroup(g, cat)
			if err != nil {
				fmt.Fprintf(stderr, "hotline flow check: %v\n", err)
				return 2
			}
			diags = append(diags, d...)
		}
	}
	for _, d := range diags {
		fmt.Fprintln(stdout, d.String())
	}
	if len(diags) > 0 {
		return 1
	}
	return 0
}

// configuredFlows is flows.dir, or the shipped flows when it is empty.
func configuredFlows(dir string) (fs.FS, string) {
	if dir != "" {
		return os.DirFS(dir), dir
	}
	return flows.FS, "flows"
}

// loadFlow compiles the file's directory and returns the file's flow, printing problems:
// a broken sibling the flow may goto stops it from running too.
func loadFlow(file string, cat *ivr.Catalog, stderr io.Writer) (*ivr.Flow, bool) {
	set, _, all, err := compileGroup(group{dir: filepath.Dir(file), files: []string{file}}, cat)
	if err != nil {
		fmt.Fprintf(stderr, "%v\n", err)
		return nil, false
	}
	if len(all) > 0 {
		for _, d := range all {
			fmt.Fprintln(stderr, d.String())
		}
		return nil, false
	}
	return set.Flow(ivr.FlowName(file)), true
}

type webhookFlags []string

func (w *webhookFlags) String() string     { return strings.Join(*w, " ") }
func (w *webhookFlags) Set(v string) error { *w = append(*w, v); return nil }

func simulate(load Loader, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs, cfgPath := newFlags("sim", stderr)
	caller := fs.String("caller", "+8613800138000", "the caller's number")
	dialed := fs.String("dialed", "4008", "the number dialed")
	digits := fs.String("digits", "", "what the caller presses at each prompt, like 2,1")
	at := fs.String("at", "", "when the call happens, like 2026-11-24T21:00+08:00, or now")
	queue := fs.String("queue", "answered", "how queues end")
	customer := fs.String("customer", "", "lookup finds a customer of this name")
	vip := fs.Bool("vip", false, "the customer found is a VIP")
	var hooks webhookFlags
	fs.Var(&hooks, "webhook", "MATCH=JSON answer for webhook URLs containing MATCH (repeatable)")
	files, err := parse(fs, args)
	if err != nil {
		return 2
	}
	if len(files) != 1 {
		fmt.Fprintf(stderr, "hotline flow sim: give one flow file\n")
		return 2
	}
	digitsGiven := false
	fs.Visit(func(f *flag.Flag) { digitsGiven = digitsGiven || f.Name == "digits" })
	when, err := sim.ParseAt(*at)
	if err != nil {
		fmt.Fprintf(stderr, "hotline flow sim: --at: %v\n", err)
		return 2
	}
	script := sim.SplitDigits(*digits)
	if err := sim.CheckTokens(script); err != nil {
		fmt.Fprintf(stderr, "hotline flow sim: --digits: %v\n", err)
		return 2
	}
	if !validExit(*queue) {
		fmt.Fprintf(stderr, "hotline flow sim: --queue %q: use one of %s\n", *queue, exitList())
		return 2
	}
	cat, _, err := catalog(load, *cfgPath)
	if err != nil {
		fmt.Fprintf(stderr, "hotline flow sim: %v\n", err)
		return 2
	}
	f, ok := loadFlow(files[0], cat, stderr)
	if !ok {
		return 1
	}
	fmt.Fprintf(stdout, "flow %s (%s, version %s) · caller %s · dialed %s · %s\n\n",
		f.Name, files[0], f.Version, *caller, *dialed, when.Format("Mon 2006-01-02 15:04 -07:00"))
	c := sim.NewCall(f, *caller, *dialed, when, script, stdout)
	c.Services.Queue.Exit = ivr.QueueExit(*queue)
	if *customer != "" || *vip {
		name := *customer
		if name == "" {
			name = "VIP caller"
		}
		c.Services.Customers.Add(ivr.Customer{ID: "C-1", Name: name, VIP: *vip}, *caller)
	}
	for _, h := range hooks {
		match, body, ok := strings.Cut(h, "=")
		var v any
		if !ok || json.Unmarshal([]byte(body), &v) != nil {
			fmt.Fprintf(stderr, "hotline flow sim: --webhook %q: write MATCH=JSON, like crm.example={\"tier\":\"gold\"}\n", h)
			return 2
		}
		c.Services.Webhooks = append(c.Services.Webhooks, sim.WebhookReply{Match: match, Body: v})
	}
	if !digitsGiven {
		in := bufio.NewScanner(stdin)
		c.Channel.Ask = func() (string, bool) {
			for {
				fmt.Fprint(stdout, "    caller> press digits (Enter: nothing, h: hang up): ")
				if !in.Scan() {
					fmt.Fprintln(stdout)
					return "", false
				}
				t := strings.TrimSpace(in.Text())
				switch t {
				case "":
					return "timeout", true
				case "h", "hangup", "q":
					return "", false
				}
				if sim.CheckTokens([]string{t}) == nil {
					return t, true
				}
				fmt.Fprintf(stdout, "    (%q is not digits 0-9 * #)\n", t)
			}
		}
	}
	tmp, err := os.MkdirTemp("", "hotline-sim-")
	if err == nil {
		defer os.RemoveAll(tmp)
		c.Runner.TempDir = tmp
	}
	res := c.Run(context.Background(), f)
	c.Printer.Summary(res)
	if res.Outcome == ivr.OutcomeError {
		return 1
	}
	return 0
}

func validExit(e string) bool {
	for _, x := range ivr.QueueExits {
		if string(x) == e {
			return true
		}
	}
	return false
}

func exitList() string {
	var s []string
	for _, x := range ivr.QueueExits {
		s = append(s, string(x))
	}
	return strings.Join(s, ", ")
}

func graph(load Loader, args []string, stdout, stderr io.Writer) int {
	fs, cfgPath := newFlags("graph", stderr)
	dot := fs.Bool("dot", false, "print Graphviz DOT instead of Mermaid")
	files, err := parse(fs, args)
	if err != nil {
		return 2
	}
	if len(files) != 1 {
		fmt.Fprintf(stderr, "hotline flow graph: give one flow file\n")
		return 2
	}
	cat, _, err := catalog(load, *cfgPath)
	if err != nil {
		fmt.Fprintf(stderr, "hotline flow graph: %v\n", err)
		return 2
	}
	set, diags, _, err := compileGroup(group{dir: filepath.Dir(files[0]), files: files}, cat)
	if err != nil {
		fmt.Fprintf(stderr, "hotline flow graph: %v\n", err)
		return 2
	}
	for _, d := range diags {
		fmt.Fprintln(stderr, d.String()) // still drawn: a picture helps find the problem
	}
	f := set.Flow(ivr.FlowName(files[0]))
	if f == nil {
		return 1
	}
	if *dot {
		fmt.Fprint(stdout, ivr.DOT(f))
	} else {
		fmt.Fprint(stdout, ivr.Mermaid(f))
	}
	return 0
}

// ---- test ----

// testSource is a test file and how to find the flows it names.
type testSource struct {
	file  string // as shown
	data  []byte
	flows func(rel string) (fsys fs.FS, label, flowFile string, err error)
}

func test(load Loader, args []string, stdout, stderr io.Writer) int {
	fs, cfgPath := newFlags("test", stderr)
	verbose := fs.Bool("v", false, "list every case")
	paths, err := parse(fs, args)
	if err != nil {
		return 2
	}
	cat, _, err := catalog(load, *cfgPath)
	if err != nil {
		fmt.Fprintf(stderr, "hotline flow test: %v\n", err)
		return 2
	}
	var tests []testSource
	if len(paths) == 0 {
		if st, err := os.Stat(filepath.Join("flows", "tests")); err == nil && st.IsDir() {
			paths = []string{filepath.Join("flows", "tests")}
		} else {
			tests, err = embeddedTests()
			if err != nil {
				fmt.Fprintf(stderr, "hotline flow test: %v\n", err)
				return 2
			}
		}
	}
	for _, p := range paths {
		ts, err := diskTests(p)
		if err != nil {
			fmt.Fprintf(stderr, "hotline flow test: %v\n", err)
			return 2
		}
		tests = append(tests, ts...)
	}
	if len(tests) == 0 {
		fmt.Fprintf(stderr, "hotline flow test: no test files\n")
		return 2
	}
	return runTests(tests, cat, *verbose, stdout)
}

func diskTests(p string) ([]testSource, error) {
	st, err := os.Stat(p)
	if err != nil {
		return nil, err
	}
	var files []string
	if st.IsDir() {
		for _, pat := range []string{"*.yaml", "*.yml"} {
			m, _ := filepath.Glob(filepath.Join(p, pat))
			files = append(files, m...)
		}
		sort.Strings(files)
	} else {
		files = []string{p}
	}
	var out []testSource
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		f := f
		out = append(out, testSource{file: f, data: b, flows: func(rel string) (fs.FS, string, string, error) {
			flowFile := filepath.Join(filepath.Dir(f), filepath.FromSlash(rel))
			dir := filepath.Dir(flowFile)
			return os.DirFS(dir), dir, flowFile, nil
		}})
	}
	return out, nil
}

// embeddedTests are the shipped flow tests, run against the shipped flows.
func embeddedTests() ([]testSource, error) {
	ents, err := fs.Glob(flows.FS, "tests/*.yaml")
	if err != nil {
		return nil, err
	}
	var out []testSource
	for _, name := range ents {
		b, err := fs.ReadFile(flows.FS, name)
		if err != nil {
			return nil, err
		}
		name := name
		out = append(out, testSource{file: "flows/" + name, data: b, flows: func(rel string) (fs.FS, string, string, error) {
			p := path.Clean(path.Join(path.Dir(name), rel))
			dir := path.Dir(p)
			sub, err := fs.Sub(flows.FS, dir)
			if err != nil {
				return nil, "", "", err
			}
			label := path.Join("flows", dir)
			return sub, label, path.Join(label, path.Base(p)), nil
		}})
	}
	return out, nil
}

// EmbeddedTests runs the shipped flows' tests against the shipped flows, printing like
// `hotline flow test`; it returns the exit status.
func EmbeddedTests(cat *ivr.Catalog, verbose bool, w io.Writer) int {
	tests, err := embeddedTests()
	if err != nil {
		fmt.Fprintln(w, err)
		return 2
	}
	return runTests(tests, cat, verbose, w)
}

// runTests runs test files and prints FAIL (and with verbose, ok) per case; 0 when all pass.
func runTests(tests []testSource, cat *ivr.Catalog, verbose bool, w io.Writer) int {
	tmp, err := os.MkdirTemp("", "hotline-flow-test-")
	if err != nil {
		fmt.Fprintln(w, err)
		return 2
	}
	defer os.RemoveAll(tmp)
	sets := map[string]*ivr.Set{}
	total, failed, files, broken := 0, 0, 0, 0
	for _, t := range tests {
		tf, err := sim.ParseTestFile(t.file, t.data)
		if err != nil {
			fmt.Fprintf(w, "FAIL %v\n", err)
			broken++
			continue
		}
		files++
		fsys, label, flowFile, err := t.flows(tf.Flow)
		if err != nil {
			fmt.Fprintf(w, "FAIL %s: flow %s: %v\n", t.file, tf.Flow, err)
			broken++
			continue
		}
		set, ok := sets[label]
		if !ok {
			srcs, err := ivr.ReadSources(fsys, label)
			if err != nil {
				fmt.Fprintf(w, "FAIL %s: %v\n", t.file, err)
				broken++
				continue
			}
			var diags ivr.Diagnostics
			set, diags = ivr.Compile(cat, srcs...)
			if len(diags) > 0 {
				fmt.Fprintf(w, "FAIL %s: the flows do not check:\n", t.file)
				for _, d := range diags {
					fmt.Fprintf(w, "    %s\n", d)
				}
				broken++
				continue
			}
			sets[label] = set
		}
		f := set.Flow(ivr.FlowName(flowFile))
		if f == nil {
			fmt.Fprintf(w, "FAIL %s: no flow %s (flows in %s: %s)\n", t.file, tf.Flow, label, strings.Join(set.Names(), ", "))
			broken++
			continue
		}
		for _, tc := range tf.Cases {
			total++
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			cr := sim.RunCase(ctx, f, tc, tmp)
			cancel()
			if len(cr.Failures) == 0 {
				if verbose {
					fmt.Fprintf(w, "ok   %s:%d: %s\n", t.file, tc.Line, tc.Name)
				}
				continue
			}
			failed++
			fmt.Fprintf(w, "FAIL %s:%d: %s\n", t.file, tc.Line, tc.Name)
			for _, msg := range cr.Failures {
				fmt.Fprintf(w, "    %s\n", msg)
			}
			fmt.Fprintf(w, "    the call:\n")
			for _, line := range strings.Split(strings.TrimRight(cr.Output, "\n"), "\n") {
				fmt.Fprintf(w, "      | %s\n", line)
			}
		}
	}
	if failed > 0 || broken > 0 {
		fmt.Fprintf(w, "FAIL: %d of %d cases failed", failed, total)
		if broken > 0 {
			fmt.Fprintf(w, "; %d test files could not run", broken)
		}
		fmt.Fprintln(w)
		return 1
	}
	fmt.Fprintf(w, "PASS: %d cases in %d test files\n", total, files)
	return 0
}
