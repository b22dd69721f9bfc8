package customers

import (
	"context"
	"sync"
	"time"
)

// SQLite's write-ahead log is checkpointed here, off the call path. SQLite's own automatic
// checkpoint (every 1,000 pages) runs inside the COMMIT that crosses the mark: that commit
// copies the log into the database file and fsyncs it, and every call waiting on that group
// commit to start its contact record waits too, so INVITE->200 had a tail of its own. The
// store's connections run with wal_autocheckpoint(0) instead, and one goroutine checkpoints
// every walCheckpointEvery with PASSIVE, which takes no write lock: group commits go on while
// it copies. When the log is still longer than walMaxPages afterwards (readers kept it from
// starting over, or writes never paused), the next round checkpoints under the store's write lock
// (RESTART), as the automatic checkpoint did, so the log stays bounded.
const (
	walCheckpointEvery = time.Second
	walMaxPages        = 20000 // about 80 MB of 4 KiB pages
)

// startWALCheckpoints starts the goroutine that checkpoints; the func it returns ends it and
// waits.
func (s *Store) startWALCheckpoints() (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(walCheckpointEvery)
		defer t.Stop()
		long := false
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			mode := "PASSIVE"
			if long {
				mode = "RESTART"
			}
			_, pages, err := s.checkpointWAL(ctx, mode)
			if err != nil {
				if ctx.Err() == nil {
					s.log.Warn("checkpointing the write-ahead log", "error", err)
				}
				continue
			}
			long = pages > walMaxPages
		}
	}()
	return func() { cancel(); wg.Wait() }
}

// checkpointWAL runs one checkpoint in mode (PASSIVE, RESTART or TRUNCATE) and returns
// whether a reader or writer kept it from finishing (busy) and the log's length in pages. A
// log copied in full starts over at the next write, unless a write came in during the copy:
// under steady writes it may only grow, and a RESTART then bounds it. Every mode but PASSIVE
// runs under the store's write lock, as SQLite's automatic checkpoint did: writers wait, and
// the log starts over from its beginning.
func (s *Store) checkpointWAL(ctx context.Context, mode string) (busy bool, pages int, err error) {
	if mode != "PASSIVE" {
		s.wmu.Lock()
		defer s.wmu.Unlock()
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var b, logged, done int
	if err := s.db.QueryRowContext(ctx, "PRAGMA wal_checkpoint("+mode+")").Scan(&b, &logged, &done); err != nil {
		return false, 0, err
	}
	return b != 0, logged, nil
}
