package dashboard

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/customers"
	"github.com/hotline-cc/hotline/customers/storetest"
)

// Issue 17: the nodes of a site keep their API tokens in the shared store. A token made
// through one node is accepted by the others within a second, a login code is used once on
// the whole site, a revoked token is refused everywhere, and a node that joins the site brings
// the tokens of its file with it.
func TestTokensSharedByNodes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		ctx := context.Background()
		open := func() *customers.Store {
			s, err := customers.Open(ctx, customers.Config{DSN: db.DSN, DataDir: db.DataDir})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		}
		// Node 1 had a token in its file before it joined the site.
		dir1 := t.TempDir()
		file, err := OpenTokens(dir1, nil)
		if err != nil {
			t.Fatal(err)
		}
		oldSecret, old, err := file.Create(RoleSupervisor, "", "before the site")
		if err != nil {
			t.Fatal(err)
		}
		n1, err := OpenSharedTokens(open(), dir1, nil)
		if err != nil {
			t.Fatal(err)
		}
		n2, err := OpenSharedTokens(open(), t.TempDir(), nil)
		if err != nil {
			t.Fatal(err)
		}
		if tk, ok := n2.Verify(oldSecret); !ok || tk.ID != old.ID {
			t.Fatalf("node 2 does not accept the token node 1 brought from its file: %v %+v", ok, tk)
		}
		if n1.Path() != "" {
			t.Errorf("shared tokens report a file: %q", n1.Path())
		}

		secret, tk, err := n1.Create(RoleAgent, "1001", "desk")
		if err != nil {
			t.Fatal(err)
		}
		waitFor(t, "node 2 accepts node 1's new token", func() bool { got, ok := n2.Verify(secret); return ok && got.ID == tk.ID })

		code, err := n2.LoginCode(tk.ID, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if got, ok := n1.Redeem(code); !ok || got.ID != tk.ID {
			t.Fatalf("node 1 did not redeem node 2's login code: %v %+v", ok, got)
		}
		if _, ok := n2.Redeem(code); ok {
			t.Fatal("a login code was redeemed twice, on two nodes")
		}

		if err := n2.Revoke(tk.ID); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "node 1 refuses the token revoked on node 2", func() bool { _, ok := n1.Verify(secret); return !ok })
		if err := n1.Revoke(tk.ID); !errors.Is(err, ErrUnknownToken) {
			t.Fatalf("revoking twice: %v, want ErrUnknownToken", err)
		}
		list, err := n1.List()
		if err != nil || len(list) != 1 || list[0].ID != old.ID {
			t.Fatalf("tokens left: %+v %v", list, err)
		}
	})
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(3 * time.Second); !cond(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("%s: not within 3 s", what)
		}
	}
}
