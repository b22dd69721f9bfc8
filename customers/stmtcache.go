package customers

import (
	"context"
	"database/sql"
	"errors"
	"sync"
)

// maxStmts bounds the statement cache: the package sends about a hundred fixed queries, and
// the list filters combine into a few hundred more. A query past the bound runs unprepared.
const maxStmts = 1024

// stmtCache keeps every query of the package prepared, once per pool connection: database/sql
// prepares a *sql.Stmt lazily on each connection it runs on, and Tx.StmtContext reuses the
// one of the transaction's connection. Without it SQLite parses and plans each statement on
// every call (prepareV2 was a sixth of the store's CPU at load). On PostgreSQL pgx would cache
// statements per connection by itself; the cache costs it nothing and keeps one code path.
type stmtCache struct {
	db *sql.DB
	d  dialect

	mu      sync.RWMutex
	stmts   map[string]*sql.Stmt // by the query as the package writes it (with ? placeholders)
	pending map[string]bool      // being prepared in the background
	closed  bool
	wg      sync.WaitGroup // background prepares
}

func newStmtCache(db *sql.DB, d dialect) *stmtCache {
	return &stmtCache{db: db, d: d, stmts: map[string]*sql.Stmt{}, pending: map[string]bool{}}
}

// get is the prepared statement of query (rebound for the dialect), nil when there is none
// yet, the cache is full or the query does not prepare: the caller then sends the query as it
// is, and an error in it comes back from there. Inside a transaction a miss is prepared in the
// background for next time: preparing takes a pool connection, and every connection may be
// held by a transaction waiting for its statement.
func (c *stmtCache) get(ctx context.Context, query string, inTx bool) *sql.Stmt {
	c.mu.RLock()
	st, ok := c.stmts[query]
	full := len(c.stmts) >= maxStmts
	c.mu.RUnlock()
	if ok || full {
		return st
	}
	if inTx {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.closed || c.pending[query] {
			return nil
		}
		c.pending[query] = true
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			c.prepare(context.WithoutCancel(ctx), query)
		}()
		return nil
	}
	return c.prepare(ctx, query)
}

// prepare prepares query (outside the lock: on PostgreSQL it is a round trip) and keeps it.
func (c *stmtCache) prepare(ctx context.Context, query string) *sql.Stmt {
	st, err := c.db.PrepareContext(ctx, c.d.rebind(query))
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.pending, query)
	if err != nil {
		return nil
	}
	if have, ok := c.stmts[query]; ok || c.closed || len(c.stmts) >= maxStmts {
		st.Close()
		return have
	}
	c.stmts[query] = st
	return st
}

// close waits for the background prepares and closes every statement, before the database.
func (c *stmtCache) close() error {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.wg.Wait()
	c.mu.Lock()
	defer c.mu.Unlock()
	var errs []error
	for q, st := range c.stmts {
		errs = append(errs, st.Close())
		delete(c.stmts, q)
	}
	return errors.Join(errs...)
}
