package acd

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// The ordered set agrees with a sorted slice under random inserts and removals.
func TestOrderedSetMatchesASortedSlice(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	s := newOrderedSet(func(a, b int) bool { return a < b })
	var ref []int
	for i := range 20000 {
		if len(ref) == 0 || rng.IntN(3) > 0 {
			v := rng.IntN(5000)
			if _, dup := slices.BinarySearch(ref, v); dup {
				continue
			}
			s.Insert(v)
			k, _ := slices.BinarySearch(ref, v)
			ref = slices.Insert(ref, k, v)
		} else {
			k := rng.IntN(len(ref))
			if !s.Remove(ref[k]) {
				t.Fatalf("step %d: %d not found", i, ref[k])
			}
			ref = slices.Delete(ref, k, k+1)
		}
		if s.Len() != len(ref) {
			t.Fatalf("step %d: len %d want %d", i, s.Len(), len(ref))
		}
		if m, ok := s.Min(); ok != (len(ref) > 0) || (ok && m != ref[0]) {
			t.Fatalf("step %d: min %d,%v want %v", i, m, ok, ref)
		}
		if len(ref) > 0 {
			k := rng.IntN(len(ref))
			if s.At(k) != ref[k] || s.Rank(ref[k]) != k || s.Rank(ref[k]+1) != k+1 {
				t.Fatalf("step %d: select/rank disagree at %d", i, k)
			}
		}
	}
	var got []int
	s.Ascend(func(v int) bool { got = append(got, v); return true })
	if !slices.Equal(got, ref) {
		t.Fatal("in-order walk differs")
	}
	got = got[:0]
	s.AscendFrom(func(v int) bool { return v >= 2500 }, func(v int) bool { got = append(got, v); return len(got) < 10 })
	k, _ := slices.BinarySearch(ref, 2500)
	if !slices.Equal(got, ref[k:min(k+10, len(ref))]) {
		t.Fatalf("AscendFrom = %v", got)
	}
	if s.Remove(-1) {
		t.Fatal("removed an absent element")
	}
}
