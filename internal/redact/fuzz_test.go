package redact

import (
	"strings"
	"testing"
)

// FuzzText: masking any text (callers choose what their From header says) never panics, and
// masked text masks to itself: nothing the scan would mask is left in it.
func FuzzText(f *testing.F) {
	for _, s := range []string{
		"call from +4930123456 queued", "From: <sip:+4930123456@10.0.0.1>;tag=1", "channel 1795396597.4",
		"jane.doe@example.com", "postgres://u:p@db/x?password=y", "api_key=a:b&x", "+" + strings.Repeat("9", 20),
		"sip:@", "@@..", "://@:", "tel:+1", "a=b password=", "12345678-1234-5678-1234-567812345678",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		once := Text(s)
		if twice := Text(once); twice != once {
			t.Errorf("Text(%q) = %q, and masking that again gives %q", s, once, twice)
		}
		n := Number(s)
		if Number(n) != n {
			t.Errorf("Number(%q) = %q is not stable: %q", s, n, Number(n))
		}
		_ = DSN(s)
		_ = Email(s)
	})
}
