package customers

import (
	"errors"
	"strings"
	"testing"
)

func TestNormalizeNumber(t *testing.T) {
	for _, tc := range []struct {
		raw, region, want string
		err               error
	}{
		{"13800138000", "CN", "+8613800138000", nil},
		{"+86 138-0013-8000", "CN", "+8613800138000", nil},
		{"(010) 1234 5678", "CN", "+861012345678", nil},
		{"008613800138000", "CN", "+8613800138000", nil}, // international prefix from China
		{"+44 20 7183 8750", "CN", "+442071838750", nil},
		{"020 7183 8750", "GB", "+442071838750", nil},
		{"sip:+8613800138000@trunk;user=phone", "CN", "+8613800138000", nil},
		{`"Wang" <sip:13800138000@10.0.0.1:5060>`, "cn", "+8613800138000", nil},
		{"tel:+86-138-0013-8000;phone-context=x", "", "+8613800138000", nil},
		{"13800138000", "", "", ErrInvalidIdentity}, // no region to read a national number in
		{"anonymous", "CN", "", ErrWithheld},
		{"", "CN", "", ErrWithheld},
		{"sip:anonymous@anonymous.invalid", "CN", "", ErrWithheld},
		{"Restricted", "CN", "", ErrWithheld},
		{"1001", "CN", "", ErrInvalidIdentity},
		{"1-800-FLOWERS", "US", "", ErrInvalidIdentity},
		{"+86 138 0013 800", "CN", "", ErrInvalidIdentity}, // one digit short
		{strings.Repeat("1", 200), "CN", "", ErrInvalidIdentity},
	} {
		got, err := NormalizeNumber(tc.raw, tc.region)
		if got != tc.want || !errors.Is(err, tc.err) {
			t.Errorf("NormalizeNumber(%q, %q) = %q, %v; want %q, %v", tc.raw, tc.region, got, err, tc.want, tc.err)
		}
	}
}

func TestCallerIdentity(t *testing.T) {
	for _, tc := range []struct {
		raw  string
		want Identity
		err  error
	}{
		{"+8613800138000", Identity{KindPhone, "+8613800138000"}, nil},
		{"sip:1001@pbx", Identity{KindSIP, "1001"}, nil}, // an extension: not a phone number
		{"Alice", Identity{KindSIP, "alice"}, nil},
		{"anonymous", Identity{}, ErrWithheld},
		{"unavailable", Identity{}, ErrWithheld},
		{"bad name", Identity{}, ErrInvalidIdentity},
	} {
		got, err := CallerIdentity(tc.raw, "CN")
		if got != tc.want || !errors.Is(err, tc.err) {
			t.Errorf("CallerIdentity(%q) = %v, %v; want %v, %v", tc.raw, got, err, tc.want, tc.err)
		}
	}
}

func TestAccountsAndEmails(t *testing.T) {
	if got, err := NormalizeAccount(" ab-12 34.5 "); got != "AB12345" || err != nil {
		t.Errorf("NormalizeAccount = %q, %v", got, err)
	}
	for _, bad := range []string{"", "12#", "é1", strings.Repeat("1", 65)} {
		if _, err := NormalizeAccount(bad); !errors.Is(err, ErrInvalidIdentity) {
			t.Errorf("account %q: %v", bad, err)
		}
	}
	if got, err := NormalizeEmail(" Wang.Fang@Example.CN "); got != "wang.fang@example.cn" || err != nil {
		t.Errorf("NormalizeEmail = %q, %v", got, err)
	}
	for _, bad := range []string{"wang", "a@b", "a@@b.cn", "a b@c.cn", "a@-b.cn"} {
		if _, err := NormalizeEmail(bad); !errors.Is(err, ErrInvalidIdentity) {
			t.Errorf("email %q: %v", bad, err)
		}
	}
}

// FuzzNormalizeNumber: caller IDs and typed callback numbers come from outside. Whatever is
// accepted is E.164, and normalizing it again gives the same number.
func FuzzNormalizeNumber(f *testing.F) {
	for _, s := range []string{"13800138000", "+86 138-0013-8000", "sip:+8613800138000@x;user=phone", `"A" <sip:1@x>`,
		"tel:+44-20-7183-8750", "anonymous", "00861", "+", "%2B8613800138000", "<<>>", "+999999999999999"} {
		f.Add(s, "CN")
	}
	f.Add("2071838750", "GB")
	f.Fuzz(func(t *testing.T, raw, region string) {
		got, err := NormalizeNumber(raw, region)
		if err != nil {
			if !errors.Is(err, ErrInvalidIdentity) && !errors.Is(err, ErrWithheld) {
				t.Fatalf("error %v is neither invalid nor withheld", err)
			}
			return
		}
		if len(got) < 3 || len(got) > 16 || got[0] != '+' || strings.Trim(got[1:], "0123456789") != "" {
			t.Fatalf("NormalizeNumber(%q) = %q, not E.164", raw, got)
		}
		if again, err := NormalizeNumber(got, ""); again != got || err != nil {
			t.Fatalf("not stable: %q -> %q -> %q, %v", raw, got, again, err)
		}
		if IsWithheld(raw) {
			t.Fatalf("%q is both withheld and the number %s", raw, got)
		}
	})
}
