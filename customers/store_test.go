package customers

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestRebind(t *testing.T) {
	q := "SELECT '?' FROM t WHERE a = ? AND b IN (?, ?) AND c = 'it''s ?'"
	if got := postgres.rebind(q); got != "SELECT '?' FROM t WHERE a = $1 AND b IN ($2, $3) AND c = 'it''s ?'" {
		t.Errorf("postgres: %s", got)
	}
	if got := sqliteDialect.rebind(q); got != q {
		t.Errorf("sqlite changed the query: %s", got)
	}
}

func TestSplitSQL(t *testing.T) {
	got := splitSQL("-- header; with a semicolon\nCREATE TABLE a (\n  x INT -- c;\n);\nINSERT INTO a VALUES (1);\n")
	if len(got) != 2 || got[0] != "CREATE TABLE a (\n  x INT\n)" || got[1] != "INSERT INTO a VALUES (1)" {
		t.Errorf("splitSQL = %q", got)
	}
}

func TestOpenRefusesUnknownDSN(t *testing.T) {
	_, err := Open(context.Background(), Config{DSN: "mysql://root:hunter2@db/hotline", DataDir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "use postgres://") || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("err = %v; want advice and no password", err)
	}
}

// TestSQLiteDurability: the settings the durability promise rests on are in force.
func TestSQLiteDurability(t *testing.T) {
	e := newEnv(t, "")
	for pragma, want := range map[string]string{"journal_mode": "wal", "synchronous": "2", "foreign_keys": "1"} {
		var got string
		e.must(e.s.db.QueryRow("PRAGMA " + pragma).Scan(&got))
		if got != want {
			t.Errorf("PRAGMA %s = %s, want %s", pragma, got, want)
		}
	}
	if _, err := os.Stat(filepath.Join(e.dataDir, "hotline.db")); err != nil {
		t.Errorf("the database is not in the data directory: %v", err)
	}
}

// TestCommittedSurvivesKill: a voicemail whose ticket number was returned is there after the
// process is killed with SIGKILL right after, with no chance to close anything.
func TestCommittedSurvivesKill(t *testing.T) {
	if os.Getenv("HOTLINE_KILL_HELPER") != "" {
		killHelper()
		return
	}
	if testing.Short() {
		t.Skip("starts a process")
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCommittedSurvivesKill$")
	cmd.Env = append(os.Environ(), "HOTLINE_KILL_HELPER="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	var numbers []string
	sc := bufio.NewScanner(out)
	deadline := time.AfterFunc(20*time.Second, func() { cmd.Process.Kill() })
	defer deadline.Stop()
	for sc.Scan() {
		if n, ok := strings.CutPrefix(sc.Text(), "TICKET "); ok {
			numbers = append(numbers, n)
			if len(numbers) == 3 {
				break
			}
		}
	}
	if len(numbers) != 3 {
		t.Fatalf("the helper printed %d ticket numbers", len(numbers))
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()

	s, err := Open(context.Background(), Config{DataDir: dir}, WithLogger(testLog()))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, n := range numbers {
		tk, err := s.Ticket(context.Background(), n)
		if err != nil {
			t.Errorf("ticket %s, told to the caller before the kill: %v", n, err)
			continue
		}
		if err := s.Recordings().Verify(tk.Recording.ID, tk.Recording.SHA256); err != nil {
			t.Errorf("ticket %s's voicemail: %v", n, err)
		}
	}
}

// killHelper saves voicemails, printing each ticket number as the caller would hear it, and
// keeps saving until it is killed.
func killHelper() {
	dir := os.Getenv("HOTLINE_KILL_HELPER")
	s, err := Open(context.Background(), Config{DataDir: dir}, WithLogger(testLog()))
	if err != nil {
		os.Exit(3)
	}
	for {
		tk, err := s.SaveVoicemail(context.Background(), Voicemail{Caller: "+8613800138000", Audio: bytes.NewReader(ulawWAV(time.Second))})
		if err != nil {
			os.Exit(4)
		}
		os.Stdout.WriteString("TICKET " + tk.Number + "\n")
	}
}
