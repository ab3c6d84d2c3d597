package archive

import (
	"bytes"
	"errors"
	"io"
	"math/rand"
	"sync"
	"testing"
	"time"
)

// fakeSyncFile counts syncs and fails the ones it is told to.
type fakeSyncFile struct {
	mu      sync.Mutex
	written int64
	syncs   []int64 // bytes written when each sync ran
	fail    error   // returned by the first sync, then cleared
}

func (f *fakeSyncFile) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.written += int64(len(p))
	return len(p), nil
}

func (f *fakeSyncFile) Sync() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.syncs = append(f.syncs, f.written)
	err := f.fail
	f.fail = nil
	return err
}

func (f *fakeSyncFile) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.syncs)
}

func writeWindows(t *testing.T, s *syncingFile, windows int) {
	t.Helper()
	chunk := make([]byte, 1<<20)
	for range windows * syncWindow / len(chunk) {
		if _, err := s.Write(chunk); err != nil {
			t.Fatal(err)
		}
	}
}

func TestSyncingFileSyncsWhileWriting(t *testing.T) {
	f := &fakeSyncFile{}
	s := newSyncingFile(f)
	writeWindows(t, s, 3)
	deadline := time.Now().Add(10 * time.Second)
	for f.count() == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if f.count() == 0 {
		t.Fatal("no sync ran while three windows were written")
	}
	if err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	if last := f.syncs[len(f.syncs)-1]; last != 3*syncWindow {
		t.Fatalf("the last sync ran at %d bytes, want it after all %d", last, 3*syncWindow)
	}
}

func TestSyncingFileReportsABackgroundSyncFailure(t *testing.T) {
	// Linux reports a failed writeback to one fsync only: if the background
	// sync saw it, the final one may succeed, and the archive must not be
	// called durable.
	lost := errors.New("input/output error")
	f := &fakeSyncFile{fail: lost}
	s := newSyncingFile(f)
	writeWindows(t, s, 1)
	if err := s.Sync(); !errors.Is(err, lost) {
		t.Fatalf("Sync = %v, want the background sync's %v", err, lost)
	}
}

func TestSyncingFileStopsQuietly(t *testing.T) {
	f := &fakeSyncFile{}
	s := newSyncingFile(f)
	writeWindows(t, s, 1)
	s.stop()
	s.stop() // an abort after a failed Close stops it again
	if err := s.Sync(); err != nil {
		t.Fatal(err)
	}
}

func TestCreateSyncsAnArchiveOfManyWindows(t *testing.T) {
	// An archive several windows long, its blob's bytes written while
	// earlier windows are being synced, reads back whole.
	path := t.TempDir() + "/big.ferry"
	w, err := Create(path, testHeader())
	if err != nil {
		t.Fatal(err)
	}
	noise := make([]byte, 3*syncWindow+12345)
	rand.New(rand.NewSource(1)).Read(noise)
	digest, _, err := w.AddBlob(bytes.NewReader(noise))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := f.OpenBlob(digest)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, noise) {
		t.Fatalf("the blob read back is %d bytes and differs from the %d written", len(got), len(noise))
	}
}
