package listen

import "testing"

func TestMarks_LowWaterMarkWaitsForTheOldestUndone(t *testing.T) {
	m := newMarks(10)
	for _, seq := range []int64{11, 12, 13, 14} {
		m.add(seq)
	}
	// given done -> want low-water mark and in flight
	steps := []struct {
		done     int64
		low      int64
		inFlight int
	}{
		{13, 10, 4}, // 11 and 12 still running: nothing can be saved
		{11, 11, 3},
		{14, 11, 3}, // 12 still holds the mark
		{12, 14, 0}, // 12 done: the mark jumps over 13 and 14
	}
	for _, s := range steps {
		m.done(s.done)
		if m.low() != s.low || m.inFlight() != s.inFlight {
			t.Fatalf("after %d done: low %d in flight %d, want %d %d", s.done, m.low(), m.inFlight(), s.low, s.inFlight)
		}
	}
}

func TestListener_Matches(t *testing.T) {
	cases := []struct {
		l    Listener
		key  string
		want bool
	}{
		{Listener{Key: "config"}, "config", true},
		{Listener{Key: "config"}, "config/x", false},
		{Listener{Key: "config/", Prefix: true}, "config/x", true},
		{Listener{Key: "config/", Prefix: true}, "other", false},
		{Listener{Key: "", Prefix: true}, "anything", true},
	}
	for _, c := range cases {
		if got := c.l.Matches(c.key); got != c.want {
			t.Errorf("%+v matches %q = %v, want %v", c.l, c.key, got, c.want)
		}
	}
}
