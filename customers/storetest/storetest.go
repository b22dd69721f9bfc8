// Package storetest gives tests of the store's users a database to open a customers.Store
// on: SQLite in a temporary directory, or a PostgreSQL schema of their own. It is for tests
// only; nothing outside _test.go files may import it.
package storetest

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"os"
	"strings"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"

	"github.com/hotline-cc/hotline/internal/testenv"
)

// DB is a database for a test: DSN for customers.Config.DSN ("" = SQLite in DataDir).
type DB struct {
	Name    string // "sqlite" or "postgres"
	DSN     string
	DataDir string
}

// Each runs fn as two subtests, "sqlite" and "postgres", each on an empty database of its
// own. Under CI a missing PostgreSQL fails its subtest; elsewhere it is skipped.
func Each(t *testing.T, fn func(t *testing.T, db DB)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, DB{Name: "sqlite", DataDir: t.TempDir()}) })
	t.Run("postgres", func(t *testing.T) { fn(t, DB{Name: "postgres", DSN: PostgresDSN(t), DataDir: t.TempDir()}) })
}

// PostgresDSN makes a schema on the test PostgreSQL server (HOTLINE_TEST_POSTGRES, default
// the local one) for this test, dropped after it, and returns a DSN that uses it.
func PostgresDSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv("HOTLINE_TEST_POSTGRES")
	if dsn == "" {
		dsn = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
		testenv.Service(t, "postgres", "127.0.0.1:5432")
	}
	var b [6]byte
	rand.Read(b[:])
	schema := "hotline_test_" + hex.EncodeToString(b[:])
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		admin.Close()
		testenv.Missing(t, "postgres at %s: %v", dsn, err)
	}
	t.Cleanup(func() {
		admin.Exec("DROP SCHEMA " + schema + " CASCADE")
		admin.Close()
	})
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	return dsn + sep + "search_path=" + schema
}
