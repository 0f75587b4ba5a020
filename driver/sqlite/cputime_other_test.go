//go:build !unix

package sqlite

// floorCPU is 0 where getrusage is missing: cpu-ns/msg then reads 0.
func floorCPU() int64 { return 0 }
