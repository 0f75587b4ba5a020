//go:build linux

package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
	"testing"
	"unsafe"
)

// Linux pty ioctls (asm-generic/ioctls.h), used without golang.org/x/sys.
const (
	ioctlGetPTN    = 0x80045430 // TIOCGPTN
	ioctlSetPTLock = 0x40045431 // TIOCSPTLCK
)

// openPTY opens a pseudo-terminal and returns its controlling side and its
// terminal side, closed when the test ends.
func openPTY(t *testing.T) (control, term *os.File) {
	t.Helper()
	control, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	t.Cleanup(func() { control.Close() })
	var unlock, n int32
	if err := ioctl(control, ioctlSetPTLock, unsafe.Pointer(&unlock)); err != nil {
		t.Skipf("unlock pty: %v", err)
	}
	if err := ioctl(control, ioctlGetPTN, unsafe.Pointer(&n)); err != nil {
		t.Skipf("pty number: %v", err)
	}
	term, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("open pty: %v", err)
	}
	t.Cleanup(func() { term.Close() })
	return control, term
}

func ioctl(f *os.File, req uintptr, arg unsafe.Pointer) error {
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, f.Fd(), req, uintptr(arg)); e != 0 {
		return e
	}
	return nil
}

// On a terminal, failed retry --all and cleanup draw a progress bar (redrawn
// in place, ending at 100%) instead of plain lines.
func TestProgress_BarOnTerminal(t *testing.T) {
	t.Parallel()
	s := seed(t, 2)
	for _, args := range [][]string{
		{"failed", "retry", "--all", "--dir", s.dir},
		{"cleanup", "--older-than", "1ns", "--dir", s.dir},
	} {
		want := map[string]string{"failed": "requeuing 100%", "cleanup": "cleaning up 100%"}[args[0]]
		control, term := openPTY(t)
		shown := make(chan string, 1)
		go func() {
			b, _ := io.ReadAll(control) // ends when the terminal side is closed
			shown <- string(b)
		}()
		var out strings.Builder
		code := run(t.Context(), args, &out, term)
		term.Close()
		got := <-shown
		if code != 0 {
			t.Fatalf("%v: exit %d\n%s\n%s", args, code, out.String(), got)
		}
		if !strings.Contains(got, want) || !strings.Contains(got, "\r") || strings.Contains(got, "progress: ") {
			t.Errorf("%v on a terminal: want a bar ending at %q, no plain lines:\n%q", args, want, got)
		}
	}
}
