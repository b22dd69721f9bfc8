package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os/user"
	"time"

	"github.com/hotline-cc/hotline/center"
	"github.com/hotline-cc/hotline/config"
	"github.com/hotline-cc/hotline/customers"
)

const auditUsage = `usage: hotline audit verify [--config FILE] [--data-dir DIR]

Walks the audit trail's hash chain in the customer store (store.dsn) from its first entry to
its head and checks every entry's hash and its link to the one before. Prints how many
entries were checked, where the chain starts, and the hash of its head (keep it elsewhere to
prove later that nothing before it was rewritten). Every entry that was altered, deleted or
inserted since it was written is named with its ID and time. Exit status 0: the chain is
intact; 1: it is broken, or the store cannot be read; 2: bad usage.
`

// auditCommand runs `hotline audit verify`.
func auditCommand(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, auditUsage)
		return 2
	}
	if args[0] != "verify" {
		fmt.Fprintf(stderr, "hotline audit: unknown command %q\n", args[0])
		fmt.Fprint(stderr, auditUsage)
		return 2
	}
	fs := flag.NewFlagSet("audit verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, auditUsage); fs.PrintDefaults() }
	cfgPath := fs.String("config", "", "configuration file (default: the sample configuration)")
	dataDir := fs.String("data-dir", "", "data directory, overrides data_dir")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "hotline audit verify: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	cfg, err := loadConfig("audit", *cfgPath, *dataDir, stderr)
	if err != nil {
		return 1
	}
	ctx := context.Background()
	store, err := center.OpenStore(ctx, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "hotline audit: %v\n", err)
		return 1
	}
	defer store.Close()
	c, err := store.VerifyAudit(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "hotline audit: %v\n", err)
		return 1
	}
	printAuditCheck(stdout, c)
	if !c.OK() {
		return 1
	}
	return 0
}

func printAuditCheck(w io.Writer, c customers.AuditCheck) {
	if c.Legacy > 0 {
		fmt.Fprintf(w, "%d entries from before the chain (schema version 7) are not covered by it.\n", c.Legacy)
	}
	switch {
	case c.First == nil && c.Head == 0:
		fmt.Fprintln(w, "The chain has no entries yet.")
	case c.First == nil:
		fmt.Fprintf(w, "The chain has no entries left; its head says there were %d.\n", c.Head)
	default:
		fmt.Fprintf(w, "The chain starts at entry %s (%s, #%d).\n", c.First.ID, c.First.At.UTC().Format(time.RFC3339Nano), c.First.Seq)
	}
	fmt.Fprintf(w, "Checked %d entries; head #%d, hash %s.\n", c.Checked, c.Head, orDash(c.HeadHash))
	if c.OK() {
		fmt.Fprintln(w, "OK: no entry was altered, deleted or inserted.")
		return
	}
	fmt.Fprintf(w, "BROKEN: %d problems:\n", len(c.Breaks))
	for _, b := range c.Breaks {
		fmt.Fprintf(w, "  %s\n", b)
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// loadConfig reads the configuration for a local command, with --data-dir over data_dir;
// a problem is printed on stderr.
func loadConfig(cmd, path, dataDir string, stderr io.Writer) (config.Config, error) {
	cfg, err := config.Load(path)
	if err != nil {
		fmt.Fprintf(stderr, "hotline %s: configuration is not valid:\n%v\n", cmd, err)
		return cfg, err
	}
	if dataDir != "" {
		cfg.DataDir = dataDir
	}
	return cfg, nil
}

// localActor is who runs a local command, as the audit trail names them: the operating
// system's user.
func localActor() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return "os:" + u.Username
	}
	return "os:unknown"
}

// auditLocal writes what a local command did to the audit trail (role admin, from cli).
func auditLocal(ctx context.Context, store *customers.Store, action, object string, detail map[string]any) error {
	return store.Audit(ctx, customers.AuditEntry{Actor: localActor(), Role: "admin", Action: action, Object: object, From: "cli", Detail: detail})
}
