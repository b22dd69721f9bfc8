package customers

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// The store's connections leave the write-ahead log alone (no checkpoint inside a COMMIT);
// the store's own goroutine copies it into the database file within a round or two, and
// the log is gone when the store closes.
func TestWALCheckpointedOffTheCommit(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s, err := Open(ctx, Config{DataDir: dir}, WithLogger(testLog()))
	if err != nil {
		t.Fatal(err)
	}
	var auto int
	if err := s.db.QueryRowContext(ctx, "PRAGMA wal_autocheckpoint").Scan(&auto); err != nil || auto != 0 {
		t.Fatalf("wal_autocheckpoint = %d (%v), want 0: SQLite would checkpoint inside commits", auto, err)
	}
	db, wal := filepath.Join(dir, "hotline.db"), filepath.Join(dir, "hotline.db-wal")
	size := func(p string) int64 {
		fi, err := os.Stat(p)
		if err != nil {
			return 0
		}
		return fi.Size()
	}
	before := size(db)
	// About 2,500 pages: past SQLite's own checkpoint mark of 1,000.
	err = s.inTx(ctx, func(r run) error {
		if _, err := r.exec(ctx, "CREATE TABLE walfill (b BLOB)"); err != nil {
			return err
		}
		_, err := r.exec(ctx, "INSERT INTO walfill SELECT randomblob(4000) FROM (WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 2500) SELECT i FROM n)")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if size(wal) < 2000*4096 {
		t.Fatalf("the log holds %d bytes after the commit: was it checkpointed inside it?", size(wal))
	}
	deadline := time.Now().Add(3*walCheckpointEvery + time.Second)
	for size(db) < before+2000*4096 {
		if time.Now().After(deadline) {
			t.Fatalf("the database file is %d bytes %v after the commit (%d before): the log was not checkpointed", size(db), 3*walCheckpointEvery, before)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if n := size(wal); n != 0 {
		t.Errorf("the log holds %d bytes after Close", n)
	}
}

// A blocking round restarts the log under the write lock.
func TestWALCheckpointBlocking(t *testing.T) {
	s, err := Open(context.Background(), Config{DataDir: t.TempDir()}, WithLogger(testLog()))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, _, err := s.checkpointWAL(context.Background(), "RESTART"); err != nil {
		t.Fatal(err)
	}
}
