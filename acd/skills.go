package acd

import "math/bits"

// skillSet is a set of interned skills (at most maxSkills of them).
type skillSet [maxSkills / 64]uint64

func (s *skillSet) add(i int) { s[i>>6] |= 1 << (uint(i) & 63) }

// covers reports whether s holds every skill of o.
func (s *skillSet) covers(o *skillSet) bool {
	for i := range s {
		if o[i]&^s[i] != 0 {
			return false
		}
	}
	return true
}

func (s skillSet) union(o skillSet) skillSet {
	for i := range s {
		s[i] |= o[i]
	}
	return s
}

// each calls fn with every skill index in s, in increasing order.
func (s *skillSet) each(fn func(i int)) {
	for w, word := range s {
		for word != 0 {
			b := bits.TrailingZeros64(word)
			fn(w*64 + b)
			word &= word - 1
		}
	}
}
