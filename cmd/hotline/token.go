package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hotline-cc/hotline/center"
	"github.com/hotline-cc/hotline/config"
	"github.com/hotline-cc/hotline/customers"
	"github.com/hotline-cc/hotline/dashboard"
)

const tokenUsage = `usage: hotline token create --role supervisor|agent|integration [--agent ID] [--name TEXT] [--login-link]
       hotline token list
       hotline token revoke ID
common flags: --config FILE, --data-dir DIR (the tokens file is <data_dir>/tokens.json)

API tokens for the dashboard and the REST API. A token's secret is printed once and stored
only as its SHA-256. A running hotline picks up new and revoked tokens within a second. Creating and
revoking are written to the audit trail (token.create, token.revoke; from cli), so the
customer store (store.dsn) must be reachable.
`

// tokenCommand runs `hotline token create|list|revoke`.
func tokenCommand(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, tokenUsage)
		return 2
	}
	sub := args[0]
	fs := flag.NewFlagSet("token "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, tokenUsage); fs.PrintDefaults() }
	cfgPath := fs.String("config", "", "configuration file (default: the sample configuration)")
	dataDir := fs.String("data-dir", "", "data directory, overrides data_dir")
	role := fs.String("role", "", "supervisor, agent or integration (create)")
	agent := fs.String("agent", "", "the agent an agent token acts for (create)")
	name := fs.String("name", "", "a note on what the token is for (create)")
	link := fs.Bool("login-link", false, "also print a one-time dashboard login link, valid 24 h (create)")
	// Flags may come before or after the ID.
	var pos []string
	for rest := args[1:]; ; {
		if err := fs.Parse(rest); err != nil {
			return 2
		}
		if fs.NArg() == 0 {
			break
		}
		pos, rest = append(pos, fs.Arg(0)), fs.Args()[1:]
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		fmt.Fprintf(stderr, "hotline token: configuration is not valid:\n%v\n", err)
		return 1
	}
	if *dataDir != "" {
		cfg.DataDir = *dataDir
	}
	// Creating and revoking are on the audit trail; not recorded, not done. The nodes of a
	// site keep their tokens in the store too.
	var store *customers.Store
	if sub == "create" || sub == "revoke" || cfg.Cluster.Shared {
		store, err = center.OpenStore(context.Background(), cfg)
		if err != nil {
			fmt.Fprintf(stderr, "hotline token: the store (audit trail, and the site's tokens with cluster.shared) cannot be opened, so nothing was changed: %v\n", err)
			return 1
		}
		defer store.Close()
	}
	var tokens *dashboard.Tokens
	if cfg.Cluster.Shared {
		tokens, err = dashboard.OpenSharedTokens(store, cfg.DataDir, nil)
	} else {
		tokens, err = dashboard.OpenTokens(cfg.DataDir, nil)
	}
	if err != nil {
		fmt.Fprintf(stderr, "hotline token: %v\n", err)
		return 1
	}
	switch sub {
	case "create":
		if len(pos) > 0 {
			fmt.Fprintf(stderr, "hotline token create: unexpected argument %q\n", pos[0])
			return 2
		}
		r := dashboard.Role(*role)
		switch r {
		case dashboard.RoleSupervisor, dashboard.RoleIntegration:
			if *agent != "" {
				fmt.Fprintf(stderr, "hotline token create: --agent is only for --role agent\n")
				return 2
			}
		case dashboard.RoleAgent:
			known := false
			ids := []string{}
			for _, a := range cfg.Agents {
				known = known || a.ID == *agent
				ids = append(ids, a.ID)
			}
			if !known {
				fmt.Fprintf(stderr, "hotline token create: --agent %q: not an agent of the configuration (%s)\n", *agent, strings.Join(ids, ", "))
				return 2
			}
		default:
			fmt.Fprintf(stderr, "hotline token create: --role %q: use supervisor, agent or integration\n", *role)
			return 2
		}
		secret, tk, err := tokens.Create(r, *agent, *name)
		if err != nil {
			fmt.Fprintf(stderr, "hotline token: %v\n", err)
			return 1
		}
		if err := auditLocal(context.Background(), store, "token.create", tk.ID, map[string]any{"role": string(tk.Role), "agent": tk.Agent, "name": tk.Name}); err != nil {
			tokens.Revoke(tk.ID)
			fmt.Fprintf(stderr, "hotline token: the audit trail cannot be written, so the token was not created: %v\n", err)
			return 1
		}
		who := string(tk.Role)
		if tk.Agent != "" {
			who += " " + tk.Agent
		}
		fmt.Fprintf(stdout, "Created token %s (%s). Its secret is shown only now:\n\n  %s\n\nUse it as the header  Authorization: Bearer %s\n", tk.ID, who, secret, secret)
		if *link {
			code, err := tokens.LoginCode(tk.ID, dashboard.LoginTTL)
			if err != nil {
				fmt.Fprintf(stderr, "hotline token: %v\n", err)
				return 1
			}
			base := cfg.HTTP.PublicURL
			if base == "" {
				base = "http://" + cfg.HTTP.Addr
			}
			fmt.Fprintf(stdout, "\nOne-time dashboard login link (valid %s):\n\n  %s/login?code=%s\n", dashboard.LoginTTL, strings.TrimRight(base, "/"), code)
		}
		return 0
	case "list":
		list, err := tokens.List()
		if err != nil {
			fmt.Fprintf(stderr, "hotline token: %v\n", err)
			return 1
		}
		tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tROLE\tAGENT\tCREATED\tNAME")
		for _, tk := range list {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", tk.ID, tk.Role, tk.Agent, tk.CreatedAt.Local().Format(time.DateTime), tk.Name)
		}
		tw.Flush()
		return 0
	case "revoke":
		if len(pos) != 1 {
			fmt.Fprintf(stderr, "hotline token revoke: give the token's ID (see hotline token list)\n")
			return 2
		}
		if err := tokens.Revoke(pos[0]); err != nil {
			fmt.Fprintf(stderr, "hotline token: %v\n", err)
			return 1
		}
		if err := auditLocal(context.Background(), store, "token.revoke", pos[0], nil); err != nil {
			fmt.Fprintf(stderr, "hotline token: %s is revoked, but the audit trail could not record it: %v\n", pos[0], err)
			return 1
		}
		fmt.Fprintf(stdout, "Revoked %s; its sessions end too.\n", pos[0])
		return 0
	}
	fmt.Fprintf(stderr, "hotline token: unknown command %q\n", sub)
	fmt.Fprint(stderr, tokenUsage)
	return 2
}
