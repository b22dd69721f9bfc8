package call

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestDigitsRead(t *testing.T) {
	bg := context.Background()
	cases := []struct {
		name, typed string
		opts        DigitOptions
		want        string
		err         error
	}{
		{"max", "1234", DigitOptions{Max: 3}, "123", nil},
		{"terminator not included", "42#9", DigitOptions{Terminator: "#"}, "42", nil},
		{"inter-digit timeout returns what came", "7", DigitOptions{Max: 4, FirstTimeout: time.Second, InterTimeout: 20 * time.Millisecond}, "7", nil},
		{"nothing at all", "", DigitOptions{Max: 4, FirstTimeout: 20 * time.Millisecond}, "", ErrTimeout},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := NewDigits(8)
			for _, r := range c.typed {
				d.Push(r)
			}
			got, err := d.Read(bg, bg, c.opts)
			if got != c.want || !errors.Is(err, c.err) {
				t.Errorf("Read = %q, %v; want %q, %v", got, err, c.want, c.err)
			}
		})
	}
	d := NewDigits(2)
	if !d.Push('1') || !d.Push('2') || d.Push('3') {
		t.Error("a full buffer must refuse digits, not block")
	}
	d.Flush()
	ended, cancel := context.WithCancel(bg)
	cancel()
	if _, err := d.Read(bg, ended, DigitOptions{Max: 1}); !errors.Is(err, ErrHangup) {
		t.Errorf("after flush and hangup: %v, want ErrHangup", err)
	}
}
