package call

import "testing"

func TestMonitorModeHears(t *testing.T) {
	// rows: who hears; columns: caller, agent, supervisor
	want := map[MonitorMode][3][3]bool{
		Listen:  {{false, true, false}, {true, false, false}, {true, true, false}},
		Whisper: {{false, true, false}, {true, false, true}, {true, true, false}},
		Barge:   {{false, true, true}, {true, false, true}, {true, true, false}},
	}
	for m, w := range want {
		for a := 0; a < 3; a++ {
			for b := 0; b < 3; b++ {
				if got := m.Hears(a, b); got != w[a][b] {
					t.Errorf("%s: %d hears %d = %v, want %v", m, a, b, got, w[a][b])
				}
			}
		}
	}
}

func TestMonitorControl(t *testing.T) {
	c := NewMonitorControl(Listen)
	if c.Set(Listen) || c.Set("shout") {
		t.Fatal("setting the same or an invalid mode changed something")
	}
	if !c.Set(Whisper) || !c.Set(Barge) {
		t.Fatal("a change was not taken")
	}
	<-c.Changed()
	if c.Mode() != Barge {
		t.Fatalf("mode %s, want barge", c.Mode())
	}
	select {
	case <-c.Changed():
		t.Fatal("two changes in a burst should signal once")
	default:
	}
}
