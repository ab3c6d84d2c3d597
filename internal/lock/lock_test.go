package lock

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A second holder is refused, told who holds it; once released, the lock
// can be taken again.
func TestLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dest.db.lock")
	l, err := Acquire(path, "ferry import a.ferry")
	if err != nil {
		t.Fatal(err)
	}
	_, err = Acquire(path, "ferry import b.ferry")
	if !errors.Is(err, ErrHeld) || !strings.Contains(err.Error(), "ferry import a.ferry") || !strings.Contains(err.Error(), "process") {
		t.Fatalf("a second holder: %v", err)
	}
	l.Release()
	l2, err := Acquire(path, "ferry import b.ferry")
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	l2.Release()
}

// A holder killed with SIGKILL leaves no lock behind.
func TestLockDiesWithItsHolder(t *testing.T) {
	if path := os.Getenv("FERRY_LOCK_HOLDER"); path != "" {
		if _, err := Acquire(path, "the helper"); err != nil {
			os.Exit(3)
		}
		os.Stdout.WriteString("held\n")
		time.Sleep(time.Minute)
		os.Exit(0)
	}
	path := filepath.Join(t.TempDir(), "dest.db.lock")
	cmd := exec.Command(os.Args[0], "-test.run", "^TestLockDiesWithItsHolder$")
	cmd.Env = append(os.Environ(), "FERRY_LOCK_HOLDER="+path)
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if line, _ := bufio.NewReader(out).ReadString('\n'); line != "held\n" {
		t.Fatalf("the helper said %q", line)
	}
	if _, err := Acquire(path, "me"); !errors.Is(err, ErrHeld) || !strings.Contains(err.Error(), "the helper") {
		t.Fatalf("while the helper holds it: %v", err)
	}
	cmd.Process.Kill()
	cmd.Wait()
	l, err := Acquire(path, "me")
	if err != nil {
		t.Fatalf("after the holder was killed: %v", err)
	}
	l.Release()
}
