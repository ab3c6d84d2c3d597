// Package lock keeps two ferry processes from writing one destination at
// once. A lock is an advisory lock (flock) on a file beside what it
// guards: the kernel releases it when its holder exits, however it exits,
// so a killed import never leaves a stale lock behind. The file says who
// holds it, for the message that refuses a second one.
package lock

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"time"
)

// ErrHeld means another process holds the lock.
var ErrHeld = errors.New("held by another process")

// Lock is a held lock.
type Lock struct{ f *os.File }

// Acquire takes the lock at path, creating the file (mode 0600) if need
// be, and records holder (what is running, for the message) in it. It
// does not wait: when another process holds it, the error wraps ErrHeld
// and says who that is.
func Acquire(path, holder string) (*Lock, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		who := make([]byte, 512)
		n, _ := f.ReadAt(who, 0)
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, &heldError{holder: strings.TrimSpace(string(who[:n]))}
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	host, _ := os.Hostname()
	note := fmt.Sprintf("%s (process %d on %s, since %s)\n", holder, os.Getpid(), host, time.Now().UTC().Format(time.RFC3339))
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(note), 0)
	}
	return &Lock{f: f}, nil
}

// Release lets the lock go. The file stays: removing it would let a third
// process lock a new file while a second waits on the old one.
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	l.f.Truncate(0)
	err := l.f.Close() // closing releases the flock
	l.f = nil
	return err
}

// heldError says who holds a lock; it is ErrHeld.
type heldError struct{ holder string }

func (e *heldError) Error() string {
	if e.holder == "" {
		return ErrHeld.Error()
	}
	return "held by " + e.holder
}

func (e *heldError) Is(target error) bool { return target == ErrHeld }
