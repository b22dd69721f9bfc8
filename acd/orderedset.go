package acd

// orderedSet is a treap ordered by less, with subtree sizes for rank and select. Elements must
// be distinct under less (every ordering used here ends with a unique tie-break), and the fields
// less reads must not change while an element is in the set.
type orderedSet[T comparable] struct {
	root  *tnode[T]
	less  func(a, b T) bool
	rng   uint64
	spare *tnode[T] // recycled nodes, linked through r
	min   T         // cached least element, valid when root != nil
}

type tnode[T comparable] struct {
	v    T
	pri  uint64
	size int
	l, r *tnode[T]
}

func newOrderedSet[T comparable](less func(a, b T) bool) *orderedSet[T] {
	return &orderedSet[T]{less: less, rng: 0x9E3779B97F4A7C15}
}

func size[T comparable](n *tnode[T]) int {
	if n == nil {
		return 0
	}
	return n.size
}

func (s *orderedSet[T]) Len() int { return size(s.root) }

func (s *orderedSet[T]) nextPri() uint64 { // xorshift64*
	s.rng ^= s.rng >> 12
	s.rng ^= s.rng << 25
	s.rng ^= s.rng >> 27
	return s.rng * 2685821657736338717
}

func (s *orderedSet[T]) Insert(v T) {
	n := s.spare
	if n != nil {
		s.spare = n.r
	} else {
		n = new(tnode[T])
	}
	*n = tnode[T]{v: v, pri: s.nextPri(), size: 1}
	if s.root == nil || s.less(v, s.min) {
		s.min = v
	}
	s.root = s.ins(s.root, n)
}

func (s *orderedSet[T]) ins(t, n *tnode[T]) *tnode[T] {
	if t == nil {
		return n
	}
	if n.pri > t.pri {
		n.l, n.r = s.split(t, n.v)
		n.size = 1 + size(n.l) + size(n.r)
		return n
	}
	if s.less(n.v, t.v) {
		t.l = s.ins(t.l, n)
	} else {
		t.r = s.ins(t.r, n)
	}
	t.size++
	return t
}

// split returns the elements < v and those >= v.
func (s *orderedSet[T]) split(t *tnode[T], v T) (l, r *tnode[T]) {
	if t == nil {
		return nil, nil
	}
	if s.less(t.v, v) {
		t.r, r = s.split(t.r, v)
		l = t
	} else {
		l, t.l = s.split(t.l, v)
		r = t
	}
	t.size = 1 + size(t.l) + size(t.r)
	return l, r
}

// merge joins a and b, every element of a being less than every element of b.
func (s *orderedSet[T]) merge(a, b *tnode[T]) *tnode[T] {
	if a == nil {
		return b
	}
	if b == nil {
		return a
	}
	if a.pri > b.pri {
		a.r = s.merge(a.r, b)
		a.size = 1 + size(a.l) + size(a.r)
		return a
	}
	b.l = s.merge(a, b.l)
	b.size = 1 + size(b.l) + size(b.r)
	return b
}

// Remove deletes v and reports whether it was there.
func (s *orderedSet[T]) Remove(v T) bool {
	var ok bool
	s.root, ok = s.del(s.root, v)
	if ok && v == s.min {
		var zero T
		s.min = zero
		if t := s.root; t != nil {
			for t.l != nil {
				t = t.l
			}
			s.min = t.v
		}
	}
	return ok
}

func (s *orderedSet[T]) del(t *tnode[T], v T) (*tnode[T], bool) {
	if t == nil {
		return nil, false
	}
	var ok bool
	switch {
	case s.less(v, t.v):
		t.l, ok = s.del(t.l, v)
	case s.less(t.v, v):
		t.r, ok = s.del(t.r, v)
	default:
		if t.v != v {
			panic("acd: internal: ordered set holds two elements with equal keys")
		}
		m := s.merge(t.l, t.r)
		var zero T
		*t = tnode[T]{v: zero, r: s.spare}
		s.spare = t
		return m, true
	}
	if ok {
		t.size--
	}
	return t, ok
}

// Min returns the least element (cached: O(1)).
func (s *orderedSet[T]) Min() (T, bool) {
	return s.min, s.root != nil
}

// Rank returns how many elements are less than v (v need not be in the set).
func (s *orderedSet[T]) Rank(v T) int {
	n := 0
	for t := s.root; t != nil; {
		if s.less(t.v, v) {
			n += size(t.l) + 1
			t = t.r
		} else {
			t = t.l
		}
	}
	return n
}

// At returns the k-th least element (0-based); k must be in [0, Len()).
func (s *orderedSet[T]) At(k int) T {
	t := s.root
	for {
		ls := size(t.l)
		switch {
		case k < ls:
			t = t.l
		case k == ls:
			return t.v
		default:
			k -= ls + 1
			t = t.r
		}
	}
}

// Ascend calls fn on the elements in order until fn returns false.
func (s *orderedSet[T]) Ascend(fn func(T) bool) { ascend(s.root, fn) }

func ascend[T comparable](t *tnode[T], fn func(T) bool) bool {
	for t != nil {
		if !ascend(t.l, fn) || !fn(t.v) {
			return false
		}
		t = t.r
	}
	return true
}

// AscendFrom calls fn, in order, on the elements for which from is true, until fn returns false.
// from must be monotone: false for a prefix of the order, true after it.
func (s *orderedSet[T]) AscendFrom(from func(T) bool, fn func(T) bool) { ascendFrom(s.root, from, fn) }

func ascendFrom[T comparable](t *tnode[T], from, fn func(T) bool) bool {
	for t != nil {
		if from(t.v) {
			if !ascendFrom(t.l, from, fn) || !fn(t.v) {
				return false
			}
		}
		t = t.r
	}
	return true
}
