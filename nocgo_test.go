package queuesqlite_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestRoot_ImportsNoStorageDriver: the root package links no SQLite
// driver, so a program that uses another backend carries no cgo.
func TestRoot_ImportsNoStorageDriver(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.Contains(dep, "go-sqlite3") || strings.HasSuffix(dep, "/driver/sqlite") {
			t.Errorf("the root package depends on %s", dep)
		}
	}
}

// TestRoot_BuildsWithoutCgo builds a program over a driver of its own with
// CGO_ENABLED=0. (mattn/go-sqlite3 compiles without cgo too, into a stub
// that fails at run time, so the dependency check above is what proves the
// root free of it; this one proves such a program builds.)
func TestRoot_BuildsWithoutCgo(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a program")
	}
	bin := filepath.Join(t.TempDir(), "nocgo")
	cmd := exec.Command("go", "build", "-o", bin, "./testdata/nocgo")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("CGO_ENABLED=0 go build ./testdata/nocgo: %v\n%s", err, out)
	}
}
