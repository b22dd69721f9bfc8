package customers

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Document returns a stored document and its version (0 and no data: none stored yet).
// Documents are small records every node of a site reads whole (the API tokens).
func (s *Store) Document(ctx context.Context, name string) ([]byte, int64, error) {
	var data string
	var version int64
	err := s.r().row(ctx, "SELECT data, version FROM documents WHERE name = ?", name).Scan(&data, &version)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("customers: document %s: %w", name, err)
	}
	return []byte(data), version, nil
}

// DocumentVersion returns a document's version (0: none stored), the cheap check before a
// re-read.
func (s *Store) DocumentVersion(ctx context.Context, name string) (int64, error) {
	var version int64
	err := s.r().row(ctx, "SELECT version FROM documents WHERE name = ?", name).Scan(&version)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("customers: document %s: %w", name, err)
	}
	return version, nil
}

// UpdateDocument changes a document from its current content (nil: none yet) under a row
// lock, so two nodes' changes never overwrite each other; fn's error leaves it as it was. It
// returns the new version.
func (s *Store) UpdateDocument(ctx context.Context, name string, fn func(old []byte) ([]byte, error)) (int64, error) {
	var version int64
	err := s.inTx(ctx, func(r run) error {
		// The row first, so there is a row to lock.
		if _, err := r.exec(ctx, `INSERT INTO documents (name, data, version, updated_at) VALUES (?, '', 0, ?)
			ON CONFLICT (name) DO NOTHING`, name, time.Now().UnixMilli()); err != nil {
			return err
		}
		q := "SELECT data, version FROM documents WHERE name = ?"
		if s.d == postgres {
			q += " FOR UPDATE"
		}
		var old string
		if err := r.row(ctx, q, name).Scan(&old, &version); err != nil {
			return err
		}
		var prev []byte
		if version > 0 {
			prev = []byte(old)
		}
		next, err := fn(prev)
		if err != nil {
			return err
		}
		version++
		_, err = r.exec(ctx, "UPDATE documents SET data = ?, version = ?, updated_at = ? WHERE name = ?",
			string(next), version, time.Now().UnixMilli(), name)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("customers: document %s: %w", name, err)
	}
	return version, nil
}
