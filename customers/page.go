package customers

import (
	"encoding/base64"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Page asks for one page of a list: at most Limit items (default 50, at most 500) after the
// Cursor a previous page returned ("" = the first page). Cursors stay valid while rows are
// added: a page never repeats or skips an item.
type Page struct {
	Limit  int
	Cursor string
}

const (
	defaultPage = 50
	maxPage     = 500
)

// cursorIDRE is what an ID in a cursor may be: the store's UUIDs, or IDs a caller chose
// (AddContact accepts the same).
var cursorIDRE = regexp.MustCompile(`^[A-Za-z0-9._-]{1,100}$`)

func encodeCursor(at int64, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte("1:" + strconv.FormatInt(at, 10) + ":" + id))
}

// decodeCursor reads a cursor from an API request: the time (ms) and ID of the last item seen.
func decodeCursor(c string) (int64, string, error) {
	if len(c) > 200 {
		return 0, "", fmt.Errorf("%w: too long", ErrBadCursor)
	}
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return 0, "", fmt.Errorf("%w: %q", ErrBadCursor, c)
	}
	parts := strings.SplitN(string(b), ":", 3)
	if len(parts) != 3 || parts[0] != "1" || !cursorIDRE.MatchString(parts[2]) {
		return 0, "", fmt.Errorf("%w: %q", ErrBadCursor, c)
	}
	at, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil || at < 0 {
		return 0, "", fmt.Errorf("%w: %q", ErrBadCursor, c)
	}
	return at, parts[2], nil
}

// apply adds the cursor's condition for a list ordered by (col DESC, id DESC) and returns the
// page size.
func (p Page) apply(col string, where *[]string, args *[]any) (int, error) {
	limit := p.Limit
	if limit <= 0 {
		limit = defaultPage
	}
	if limit > maxPage {
		limit = maxPage
	}
	if p.Cursor != "" {
		at, id, err := decodeCursor(p.Cursor)
		if err != nil {
			return 0, err
		}
		*where = append(*where, "("+col+" < ? OR ("+col+" = ? AND id < ?))")
		*args = append(*args, at, at, id)
	}
	return limit, nil
}

// cutPage trims a list fetched with LIMIT limit+1 to the page and returns the cursor of the
// following page ("" after the last), keyed by the ordering column and the ID of its last row.
func cutPage[T any](list []T, limit int, key func(T) (time.Time, string)) ([]T, string) {
	if len(list) <= limit {
		return list, ""
	}
	list = list[:limit]
	at, id := key(list[limit-1])
	return list, encodeCursor(ms(at), id)
}
