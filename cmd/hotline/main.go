// Command hotline is the contact-center controller: `hotline serve` runs it, `hotline flow`
// checks, simulates, tests and draws flows, `hotline staffing` sizes a team, `hotline token`
// manages API tokens, `hotline audit verify` checks the audit trail, `hotline customer`
// exports or erases a customer's data, `hotline version` says which build this is.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"os/signal"
	"syscall"

	"github.com/hotline-cc/hotline/center"
	"github.com/hotline-cc/hotline/config"
	"github.com/hotline-cc/hotline/internal/redact"
)

var version = "dev"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	switch args[0] {
	case "version", "--version", "-v":
		fmt.Fprintf(stdout, "hotline %s\n", version)
		return 0
	case "serve":
		return serve(args[1:], stdout, stderr)
	case "flow":
		return flowCommand(args[1:], stdout, stderr)
	case "staffing":
		return staffingCommand(args[1:], stdout, stderr)
	case "token":
		return tokenCommand(args[1:], stdout, stderr)
	case "audit":
		return auditCommand(args[1:], stdout, stderr)
	case "customer":
		return customerCommand(args[1:], stdout, stderr)
	case "help", "-h", "--help":
		usage(stdout)
		return 0
	}
	fmt.Fprintf(stderr, "hotline: unknown command %q\n", args[0])
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprint(w, `usage: hotline <command> [flags]

  serve      run the contact center (--config FILE, --sip-addr, --http-addr, --data-dir, --check-config,
             --pprof 127.0.0.1:6060, --cpuprofile FILE)
  flow       check | sim | test | graph IVR flows
  staffing   agents needed (Erlang C): --calls-per-hour 300 --aht 4m --target 80/20s [--shrinkage 30%]
  token      create | list | revoke API and dashboard tokens
  audit      verify the audit trail's hash chain
  customer   export ID (JSON on stdout) | erase ID (right to be forgotten)
  version    print the version
`)
}

func serve(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "", "YAML config file (default: the embedded sample with demo agents)")
	sipAddr := fs.String("sip-addr", "", "SIP listen address host:port (UDP and TCP), overrides sip.addr")
	httpAddr := fs.String("http-addr", "", "HTTP listen address host:port, overrides http.addr")
	dataDir := fs.String("data-dir", "", "data directory, overrides data_dir")
	check := fs.Bool("check-config", false, "validate the configuration and flows, then exit")
	var prof profiling
	fs.StringVar(&prof.addr, "pprof", "", "serve Go's pprof endpoints on this loopback host:port (off by default)")
	fs.StringVar(&prof.cpuFile, "cpuprofile", "", "write a CPU profile to this file until hotline stops (off by default)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		fmt.Fprintf(stderr, "hotline: configuration is not valid:\n%v\n", err)
		return 1
	}
	if prof.addr != "" {
		if err := checkPprofAddr(prof.addr); err != nil {
			fmt.Fprintf(stderr, "hotline: %v\n", err)
			return 2
		}
	}
	if *sipAddr != "" {
		cfg.SIP.Addr = *sipAddr
	}
	if *httpAddr != "" {
		cfg.HTTP.Addr = *httpAddr
	}
	if *dataDir != "" {
		cfg.DataDir = *dataDir
	}
	if err := cfg.Validate(); err != nil {
		fmt.Fprintf(stderr, "hotline: configuration is not valid:\n%v\n", err)
		return 1
	}
	if *check {
		if err := center.Check(cfg); err != nil {
			fmt.Fprintf(stderr, "hotline: %v\n", err)
			return 1
		}
		fmt.Fprintln(stdout, "configuration ok")
		return 0
	}
	tuneGC()
	log := newLogger(cfg, stderr)
	slog.SetDefault(log) // libraries that log to slog.Default() are masked too
	if cfg.Log.FullNumbers {
		log.Warn("log.full_numbers is on: callers' and customers' phone numbers are logged in full; turn it off once debugging is done")
	}
	if err := prof.start(log); err != nil {
		fmt.Fprintf(stderr, "hotline: %v\n", err)
		return 1
	}
	defer prof.stop()
	c, err := center.New(cfg, center.WithLogger(log), center.WithBanner(stdout), center.WithBannerPasswords(*cfgPath == ""))
	if err != nil {
		fmt.Fprintf(stderr, "hotline: %v\n", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go reloadOnHangup(ctx, c, log)
	if err := c.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintf(stderr, "hotline: %v\n", err)
		return 1
	}
	return 0
}

// reloadOnHangup reloads the flows on SIGHUP (kill -HUP, systemctl reload): a clean edit
// serves new calls, a broken one is refused and logged; both are on the audit trail.
func reloadOnHangup(ctx context.Context, c *center.Center, log *slog.Logger) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	select {
	case <-c.Started():
	case <-ctx.Done():
		return
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			if err := c.ReloadFlows("signal"); err != nil {
				log.Error("SIGHUP: flows not reloaded; the previous version keeps serving", "err", err)
			} else {
				log.Info("SIGHUP: flows reloaded")
			}
		}
	}
}

// newLogger writes cfg.Log's level and format through the masking of internal/redact: phone
// numbers (unless log.full_numbers), e-mail addresses, DTMF digits, credentials in URLs and
// every secret of the configuration, whatever logs them.
func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.Log.Level))
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler = slog.NewTextHandler(w, opts)
	if cfg.Log.Format == "json" {
		h = slog.NewJSONHandler(w, opts)
	}
	return slog.New(redact.NewHandler(h, redact.Options{FullNumbers: cfg.Log.FullNumbers, Secrets: configSecrets(cfg)}))
}

// configSecrets are the configuration's passwords and keys: the log handler scrubs them from
// any line, so a call site that logs a URL, a request or an error holding one leaks nothing.
// API tokens are not in the configuration (only their SHA-256 is stored), and nothing logs them.
func configSecrets(cfg config.Config) []string {
	out := []string{cfg.ARI.Password, cfg.Webhooks.Secret}
	for _, a := range cfg.Agents {
		out = append(out, a.Password)
	}
	for _, s := range cfg.Supervisors {
		out = append(out, s.Password)
	}
	if u, err := url.Parse(cfg.Store.DSN); err == nil && u.User != nil {
		if p, ok := u.User.Password(); ok {
			out = append(out, p, url.QueryEscape(p), url.PathEscape(p))
		}
	}
	return out
}
