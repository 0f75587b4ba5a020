package main

import (
	"fmt"
	"time"

	"github.com/queue-sqlite/queuesqlite"
)

// durationFlag is a pflag.Value for a duration that must be positive.
type durationFlag struct{ d time.Duration }

func (f *durationFlag) String() string {
	if f.d == 0 {
		return ""
	}
	return f.d.String()
}

func (f *durationFlag) Set(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("not a duration (want e.g. 500ms, 5s, 1h): %q", s)
	}
	if d <= 0 {
		return fmt.Errorf("must be positive, not %v", d)
	}
	f.d = d
	return nil
}

func (f *durationFlag) Type() string { return "duration" }

// priorityFlag is a pflag.Value for a message priority by name.
type priorityFlag struct{ p queuesqlite.Priority }

func (f *priorityFlag) String() string { return f.p.String() }

func (f *priorityFlag) Set(s string) error { return f.p.UnmarshalText([]byte(s)) }

func (f *priorityFlag) Type() string { return "low|normal|high|urgent" }
