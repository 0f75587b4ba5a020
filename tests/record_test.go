package tests

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// A record says that a handler ran message ID as attempt Attempt in process
// PID. Handlers write it before they return, one write(2) of one line to a
// file opened O_APPEND, so a SIGKILL either leaves the whole line or none of
// it (only an OS crash could lose written lines, and these tests kill
// processes, not the OS). That holds because a line never crosses a page:
// the kernel copies a write page by page and stops between pages for a
// fatal signal, so a line across a page boundary could be cut (the suite
// saw one, cut after 22 bytes, when lines were 53 bytes long). Lines are
// recordLen = 64 bytes, which divides the page size.
type record struct {
	ID      string
	Attempt int
	PID     int
}

// recordLen is the length of one record line; a fixed width lets the parent
// count a child's progress from the file size alone.
const recordLen = 36 + 1 + 6 + 1 + 19 + 1

// recorder appends records to one file.
type recorder struct {
	mu sync.Mutex
	f  *os.File
}

func openRecorder(path string) (*recorder, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	return &recorder{f: f}, nil
}

// add writes one record with a single write call.
func (r *recorder) add(id string, attempt int) error {
	if len(id) > 36 {
		return fmt.Errorf("record: id %q longer than 36 bytes", id)
	}
	line := fmt.Sprintf("%-36s %6d %19d\n", id, attempt, os.Getpid())
	_, err := r.f.Write([]byte(line))
	return err
}

// recordFiles lists the record files in dir.
func recordFiles(t testing.TB, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "records-*.log"))
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// readRecords reads every record file in dir, grouped by message id.
func readRecords(t testing.TB, dir string) map[string][]record {
	t.Helper()
	out := map[string][]record{}
	for _, path := range recordFiles(t, dir) {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		for line := 1; sc.Scan(); line++ {
			fields := strings.Fields(sc.Text())
			if len(fields) != 3 {
				t.Fatalf("%s:%d: malformed record %q", path, line, sc.Text())
			}
			attempt, err1 := strconv.Atoi(fields[1])
			pid, err2 := strconv.Atoi(fields[2])
			if err1 != nil || err2 != nil {
				t.Fatalf("%s:%d: malformed record %q", path, line, sc.Text())
			}
			out[fields[0]] = append(out[fields[0]], record{ID: fields[0], Attempt: attempt, PID: pid})
		}
		f.Close()
		if err := sc.Err(); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// recordCount is how many records the files in dir hold, from their sizes.
func recordCount(dir string) int {
	files, _ := filepath.Glob(filepath.Join(dir, "records-*.log"))
	var n int64
	for _, f := range files {
		if fi, err := os.Stat(f); err == nil {
			n += fi.Size()
		}
	}
	return int(n / recordLen)
}
