package customers

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"
)

const (
	// maxBatch bounds the writes one transaction commits, and so how long the last of them waits.
	maxBatch = 256
	// batchTimeout bounds one batch's transaction: a caller whose write is queued waits at
	// most this long (plus the batch before it) to learn whether it was committed.
	batchTimeout = 10 * time.Second
)

// groupCommit commits the contact writes of the call path (a contact opened as a call
// arrives, its outcome when it ends, the distributor's samples on it) many per transaction.
// There is no timer: the writes that arrive while one transaction commits (or while the
// writer yields once to the goroutines ready to run) are the next transaction, so a quiet
// store commits each write alone at once and a busy one pays one fsync (SQLite) or one WAL
// flush (PostgreSQL) for up to maxBatch writes. A write that fails is rolled back alone
// (see commit) and the others commit. Every caller waits for the COMMIT of its own write:
// what was written is durable and readable when the call returns, as with a transaction of
// its own.
//
// SQLite has one writer (the file's write lock), so one goroutine writes. PostgreSQL takes
// transactions side by side, and a batch there waits mostly on round trips, so several
// writers each commit a batch of their own.
type groupCommit struct {
	s       *Store
	ops     chan *contactWrite
	writers int

	mu     sync.RWMutex // held shared while queueing; Close takes it to stop the queueing
	closed bool
	done   chan struct{} // the writers have committed everything and returned
}

// contactWrite is one queued write: fn runs inside the batch's transaction.
type contactWrite struct {
	ctx   context.Context // the caller's: a write whose caller has gone before it runs is not done
	fn    func(ctx context.Context, r run) error
	retry bool // a unique key taken by a concurrent writer: run it again, it finds that row
	err   chan error
}

func newGroupCommit(s *Store, writers int) *groupCommit {
	g := &groupCommit{s: s, ops: make(chan *contactWrite, 4*maxBatch), writers: writers, done: make(chan struct{})}
	var wg sync.WaitGroup
	for range writers {
		wg.Go(g.run)
	}
	go func() { wg.Wait(); close(g.done) }()
	return g
}

// do queues fn and waits for the COMMIT of its batch. ctx ending before the write is queued
// or run cancels it; once the write runs, do waits for the batch to end (at most
// batchTimeout), so the caller knows whether it was committed.
func (g *groupCommit) do(ctx context.Context, retry bool, fn func(ctx context.Context, r run) error) error {
	w := &contactWrite{ctx: ctx, fn: fn, retry: retry, err: make(chan error, 1)}
	g.mu.RLock()
	if g.closed {
		g.mu.RUnlock()
		return ErrClosed
	}
	select {
	case g.ops <- w:
	case <-ctx.Done():
		g.mu.RUnlock()
		return ctx.Err()
	}
	g.mu.RUnlock()
	return <-w.err
}

// close stops the queueing and waits until everything queued is committed.
func (g *groupCommit) close() {
	g.mu.Lock()
	if !g.closed {
		g.closed = true
		close(g.ops)
	}
	g.mu.Unlock()
	<-g.done
}

// run is a writer: it takes what is queued, up to maxBatch, and commits it.
func (g *groupCommit) run() {
	batch := make([]*contactWrite, 0, maxBatch)
	for w := range g.ops {
		batch = append(batch[:0], w)
		yielded := false
	gather:
		for len(batch) < maxBatch {
			select {
			case w, ok := <-g.ops:
				if !ok {
					break gather
				}
				batch = append(batch, w)
			default:
				if yielded {
					break gather
				}
				// The goroutines runnable now (calls about to write) go first, once: with few
				// cores the writer is woken by the first write and would commit it alone.
				// Nothing else waiting, this returns at once.
				runtime.Gosched()
				yielded = true
			}
		}
		g.commit(batch)
		clear(batch)
	}
}

// commit runs a batch in one transaction and tells each caller how its write went. The
// writes first run one after the other with nothing between them, the cheap way, which is
// how the call path's writes go. When one fails, the transaction is rolled back and the batch
// run again with each write in a savepoint, so that only the failed write is undone (a
// savepoint costs two statements and, on SQLite, a copy of every page the write changes).
// The statements run under the batch's context, never a caller's: a cancelled statement
// (SQLite interrupts the connection) would roll back the whole transaction.
func (g *groupCommit) commit(batch []*contactWrite) {
	mBatch.Observe(float64(len(batch)))
	ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
	defer cancel()
	if len(batch) == 1 { // the transaction is the write's own
		batch[0].err <- g.alone(ctx, batch[0])
		return
	}
	errs := make([]error, len(batch))
	err := g.s.inTx(ctx, func(r run) error { return together(ctx, r, batch, errs) })
	if errors.Is(err, errWriteFailed) {
		clear(errs)
		err = g.s.inTx(ctx, func(r run) error { return g.apart(ctx, r, batch, errs) })
	}
	for i, w := range batch {
		if err != nil && errs[i] == nil {
			errs[i] = err
		}
		w.err <- errs[i]
	}
}

// errWriteFailed: a write of a batch run together failed, and the transaction with it.
var errWriteFailed = errors.New("customers: a write of the batch failed")

// together runs the writes of a batch one after the other in one transaction.
func together(ctx context.Context, r run, batch []*contactWrite, errs []error) error {
	for i, w := range batch {
		if errs[i] = w.ctx.Err(); errs[i] != nil {
			continue
		}
		if err := w.fn(ctx, r); err != nil {
			return errWriteFailed
		}
	}
	return nil
}

// apart runs the writes of a batch in one transaction, each in a savepoint: errs gets each
// write's failure; the error returned is one that breaks the transaction.
func (g *groupCommit) apart(ctx context.Context, r run, batch []*contactWrite, errs []error) error {
	for i, w := range batch {
		if errs[i] = w.ctx.Err(); errs[i] != nil {
			continue
		}
		var err error
		if errs[i], err = g.savepoint(ctx, r, w); err != nil {
			return err
		}
	}
	return nil
}

// alone runs a write in a transaction of its own.
func (g *groupCommit) alone(ctx context.Context, w *contactWrite) error {
	if err := w.ctx.Err(); err != nil {
		return err
	}
	fn := func(r run) error { return w.fn(ctx, r) }
	if w.retry {
		return g.s.inTxRetry(ctx, fn)
	}
	return g.s.inTx(ctx, fn)
}

// savepoint runs one write of a batch inside a savepoint, so that its failure (werr) is
// rolled back alone; it is run again (up to 3 times) when it may be and a concurrent writer
// took a unique key first, as inTxRetry does. err is a failure of the savepoint itself, which
// breaks the whole transaction.
func (g *groupCommit) savepoint(ctx context.Context, r run, w *contactWrite) (werr, err error) {
	if _, err := r.exec(ctx, "SAVEPOINT contact_write"); err != nil {
		return nil, fmt.Errorf("customers: savepoint: %w", err)
	}
	werr = w.fn(ctx, r)
	for i := 0; i < 3 && w.retry && retryable(werr); i++ {
		if err := rollbackTo(ctx, r); err != nil {
			return werr, err
		}
		werr = w.fn(ctx, r)
	}
	if werr != nil {
		if err := rollbackTo(ctx, r); err != nil {
			return werr, err
		}
	}
	if _, err := r.exec(ctx, "RELEASE SAVEPOINT contact_write"); err != nil {
		return werr, fmt.Errorf("customers: release savepoint: %w", err)
	}
	return werr, nil
}

func rollbackTo(ctx context.Context, r run) error {
	if _, err := r.exec(ctx, "ROLLBACK TO SAVEPOINT contact_write"); err != nil {
		return fmt.Errorf("customers: rollback to savepoint: %w", err)
	}
	return nil
}
