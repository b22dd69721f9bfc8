package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"

	"github.com/hotline-cc/hotline/center"
	"github.com/hotline-cc/hotline/config"
	"github.com/hotline-cc/hotline/customers"
	"github.com/hotline-cc/hotline/dashboard"
	"github.com/hotline-cc/hotline/internal/redact"
	"github.com/hotline-cc/hotline/prompts"
)

const customerUsage = `usage: hotline customer export ID     everything hotline holds on the customer, as JSON on stdout
       hotline customer erase ID      erase the customer's personal data (right to be forgotten)
common flags: --config FILE, --data-dir DIR (the store of the configuration: store.dsn, data_dir)

For access and erasure requests (PIPL, GDPR). export writes the same JSON as
GET /api/v1/customers/{id}/export. erase removes identities, name, contact addresses and
events, callback numbers (waiting callbacks are cancelled), ticket subjects and notes,
wrap-up notes, webhook payload copies and recordings with their files; contacts stay as
anonymous rows so reports still add up. It cannot be undone. Both are written to the audit
trail (customer.export, customer.erase) as done by cli:<your user name>.
`

// customerCommand runs `hotline customer export|erase ID`.
func customerCommand(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, customerUsage)
		return 2
	}
	sub := args[0]
	if sub != "export" && sub != "erase" {
		fmt.Fprintf(stderr, "hotline customer: unknown command %q\n", sub)
		fmt.Fprint(stderr, customerUsage)
		return 2
	}
	fs := flag.NewFlagSet("customer "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, customerUsage); fs.PrintDefaults() }
	cfgPath := fs.String("config", "", "configuration file (default: the sample configuration)")
	dataDir := fs.String("data-dir", "", "data directory, overrides data_dir")
	var pos []string
	for rest := args[1:]; ; { // flags before or after the ID
		if err := fs.Parse(rest); err != nil {
			return 2
		}
		if fs.NArg() == 0 {
			break
		}
		pos, rest = append(pos, fs.Arg(0)), fs.Args()[1:]
	}
	if len(pos) != 1 {
		fmt.Fprintf(stderr, "hotline customer %s: give one customer ID (GET /api/v1/customers?number=... finds it)\n", sub)
		return 2
	}
	id := pos[0]
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		fmt.Fprintf(stderr, "hotline customer: configuration is not valid:\n%v\n", err)
		return 1
	}
	if *dataDir != "" {
		cfg.DataDir = *dataDir
	}
	log := slog.New(redact.NewHandler(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}), redact.Options{Secrets: configSecrets(cfg)}))
	ctx := context.Background()
	// The prompts rendered with the customer's name go too (those of a running hotline: the
	// same cache directory).
	cache := center.PromptsConfig(cfg).CacheDir
	if cache == "" {
		cache = filepath.Join(cfg.DataDir, "say-cache")
	}
	store, err := center.OpenStore(ctx, cfg, customers.WithLogger(log),
		customers.WithErased(func(_ context.Context, id string) error { return prompts.ForgetCustomer(cache, id) }))
	if err != nil {
		fmt.Fprintf(stderr, "hotline customer: %v\n", err)
		return 1
	}
	defer store.Close()
	audit := func(action string, detail map[string]any) error {
		detail["via"] = "cli"
		return auditLocal(ctx, store, action, id, detail)
	}
	c, err := store.Customer(ctx, id)
	if err != nil {
		fmt.Fprintf(stderr, "hotline customer %s: %v\n", sub, err)
		return 1
	}
	if c.ID != id {
		fmt.Fprintf(stderr, "hotline customer %s: customer %s was merged into %s; give %s\n", sub, id, c.ID, c.ID)
		return 1
	}
	switch sub {
	case "export":
		x, err := store.Export(ctx, id)
		if err != nil {
			fmt.Fprintf(stderr, "hotline customer export: %v\n", err)
			return 1
		}
		// Not recorded, not written: an export is on the audit trail, as through the API.
		if err := audit(customers.AuditCustomerExport, map[string]any{"entries": len(x.Timeline), "tickets": len(x.Tickets), "recordings": len(x.Recordings)}); err != nil {
			fmt.Fprintf(stderr, "hotline customer export: the export could not be recorded in the audit trail, so it is not written: %v\n", err)
			return 1
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(dashboard.NewExportView(x)); err != nil {
			fmt.Fprintf(stderr, "hotline customer export: %v\n", err)
			return 1
		}
		return 0
	default:
		if err := store.Erase(ctx, id); err != nil {
			if errors.Is(err, customers.ErrEraseIncomplete) { // the records are erased: audited as such
				audit(customers.AuditCustomerErase, map[string]any{"merged_from": len(c.MergedFrom), "incomplete": true})
			}
			fmt.Fprintf(stderr, "hotline customer erase: %v\n", err)
			return 1
		}
		if err := audit(customers.AuditCustomerErase, map[string]any{"merged_from": len(c.MergedFrom)}); err != nil {
			fmt.Fprintf(stderr, "hotline customer erase: erased, but the audit entry could not be written: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "Erased customer %s (and %d record(s) merged into it): identities, details, contact addresses and events, notes, recordings. Its contacts stay as anonymous rows.\n", id, len(c.MergedFrom))
		return 0
	}
}
