// Package reports computes per-queue interval reports (15 min, hour, day) from the stored
// contacts, callbacks and tickets, with the same counting rules and formulas as the live ACD
// statistics (acd.Counters, acd.KPIs), so they survive restarts and match the live figures.
// It only reads the store; docs/kpis.md says what each figure means.
package reports
