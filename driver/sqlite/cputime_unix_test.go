//go:build unix

package sqlite

import "syscall"

// floorCPU returns the CPU time (user and system, nanoseconds) this
// process used so far; the floor benchmarks report it per message, as it
// varies less than wall time on a shared machine.
func floorCPU() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
