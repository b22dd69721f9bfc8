package customers

import (
	"errors"
	"testing"
)

// FuzzDecodeCursor: page cursors come back from API clients. A cursor is either refused with
// ErrBadCursor or reads as a time and an ID that encode to the same cursor.
func FuzzDecodeCursor(f *testing.F) {
	f.Add(encodeCursor(1778464800000, "01a20645-1982-764b-bb20-8d884b6a62ca"))
	f.Add("MToxOjE")
	f.Add("")
	f.Fuzz(func(t *testing.T, c string) {
		at, id, err := decodeCursor(c)
		if err != nil {
			if !errors.Is(err, ErrBadCursor) {
				t.Fatalf("error %v is not ErrBadCursor", err)
			}
			return
		}
		if at < 0 || !cursorIDRE.MatchString(id) {
			t.Fatalf("accepted %q as %d %q", c, at, id)
		}
		if a2, id2, err := decodeCursor(encodeCursor(at, id)); err != nil || a2 != at || id2 != id {
			t.Fatalf("round trip of %q failed", c)
		}
	})
}
