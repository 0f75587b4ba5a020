// Package tests is the reliability suite of queue-sqlite: it proves with real
// processes, real signals, real files and a real full file system that
// crashes, faults and bad input lose nothing (issue 6), and that two
// processes sharing a queue run every message exactly once (issue 2).
//
// The parent test re-executes its own binary as a child process: TestMain
// looks for the environment variable roleEnv, runs that role and exits, so
// the children are the same code as the tests. Children talk to the parent
// through lines on stdout (and take commands on stdin); every handler
// records (message id, attempt) in an append-only file before it returns,
// which is what the parent counts.
//
// Sizes come from QUEUESQLITE_SUITE: unset runs every test in a few seconds
// (plain `go test ./...`), "ci" runs the sizes (a few minutes with
// -race), "long" runs them bigger.
package tests

import (
	"fmt"
	"os"
	"testing"
	"time"
)

// roleEnv names the child role a re-executed test binary runs; specEnv
// carries the role's parameters as JSON.
const (
	roleEnv = "QUEUESQLITE_TEST_ROLE"
	specEnv = "QUEUESQLITE_TEST_SPEC"
)

func TestMain(m *testing.M) {
	if role := os.Getenv(roleEnv); role != "" {
		os.Exit(runRole(role))
	}
	fmt.Fprintf(os.Stderr, "reliability suite: size %q\n", size.name)
	os.Exit(m.Run())
}

// runRole runs a child role and returns its exit code.
func runRole(role string) int {
	roles := map[string]func() int{
		"worker":       workerRole,
		"contention":   contentionRole,
		"sender":       senderRole,
		"idsender":     idSenderRole,
		"uniquesender": uniqueSenderRole,
		"listener":     listenerRole,
		"locker":       lockerRole,
		"leader":       leaderRole,
		"periodic":     periodicRole,
		"stream":       streamRole,
	}
	fn, ok := roles[role]
	if !ok {
		fmt.Fprintf(os.Stderr, "unknown child role %q\n", role)
		return 2
	}
	return fn()
}

// suiteSize holds the figures that change between quick, ci and long runs.
type suiteSize struct {
	name string

	multiMessages int // test 0: messages two processes share

	soakMessages int // test 1: messages worked while the child is killed
	soakKills    int // test 1: SIGKILLs (at least)

	selfKillJobs int // test 3: ordinary messages flowing past the self-killing one

	contentionProcs   int           // test 6: processes
	contentionSenders int           // test 6: sending goroutines per process
	contentionFor     time.Duration // test 6: how long they send, per queue layout
}

var sizes = map[string]suiteSize{
	"": {name: "quick", multiMessages: 1000, soakMessages: 2000, soakKills: 5, selfKillJobs: 100,
		contentionProcs: 2, contentionSenders: 4, contentionFor: 1500 * time.Millisecond},
	"ci": {name: "ci", multiMessages: 5000, soakMessages: 20_000, soakKills: 50, selfKillJobs: 500,
		contentionProcs: 4, contentionSenders: 16, contentionFor: 30 * time.Second},
	"long": {name: "long", multiMessages: 20_000, soakMessages: 100_000, soakKills: 150, selfKillJobs: 2000,
		contentionProcs: 4, contentionSenders: 16, contentionFor: 2 * time.Minute},
}

var size = func() suiteSize {
	s, ok := sizes[os.Getenv("QUEUESQLITE_SUITE")]
	if !ok {
		fmt.Fprintf(os.Stderr, "QUEUESQLITE_SUITE=%q: want unset, ci or long\n", os.Getenv("QUEUESQLITE_SUITE"))
		os.Exit(2)
	}
	return s
}()
