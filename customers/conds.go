package customers

import "time"

// conds collects the conditions of a list query's WHERE clause and their arguments, for
// the List functions' filters: an empty filter field adds nothing.
type conds struct {
	where []string
	args  []any
}

func (c *conds) add(cond string, args ...any) {
	c.where = append(c.where, cond)
	c.args = append(c.args, args...)
}

// eq adds col = v when v is set.
func (c *conds) eq(col, v string) {
	if v != "" {
		c.add(col+" = ?", v)
	}
}

// during adds from <= col < to, each bound when set (col holds Unix milliseconds).
func (c *conds) during(col string, from, to time.Time) {
	if !from.IsZero() {
		c.add(col+" >= ?", ms(from))
	}
	if !to.IsZero() {
		c.add(col+" < ?", ms(to))
	}
}
