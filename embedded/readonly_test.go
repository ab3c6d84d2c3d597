package embedded

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"ferry/model"
)

// A source the user may only read, in a folder they may not write (a
// backup, read-only media) opens and reads: export and compare open sites
// with Open. As root, permissions do not bind, so the check runs again in
// a child process as nobody.
func TestReadOnlySiteOpens(t *testing.T) {
	if path := os.Getenv("FERRY_TEST_READONLY_SITE"); path != "" {
		readOnlySite(t, path, os.Getenv("FERRY_TEST_READONLY_ID"))
		return
	}
	dir := filepath.Join(t.TempDir(), "backup")
	os.Mkdir(dir, 0o755)
	path := filepath.Join(dir, "site.db")
	s, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	err = s.Update(context.Background(), time.Now(), "", func(tx *Tx) error {
		return tx.PutUser(model.User{AccountID: "u1", DisplayName: "Ada", Status: "active", AccountType: "atlassian"})
	})
	id := s.ID()
	s.Close()
	if err != nil {
		t.Fatal(err)
	}
	// As root the check runs as nobody, from a copy of this test binary
	// that nobody can run.
	self := filepath.Join(filepath.Dir(dir), "embedded.test")
	if os.Geteuid() == 0 {
		os.Chmod(filepath.Dir(filepath.Dir(dir)), 0o755) // t.TempDir's own folder
		b, err := os.ReadFile(os.Args[0])
		if err == nil {
			err = os.WriteFile(self, b, 0o755)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []string{path, dir, filepath.Dir(dir)} {
		mode := os.FileMode(0o555)
		if p == path {
			mode = 0o444
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { os.Chmod(dir, 0o755); os.Chmod(filepath.Dir(dir), 0o755) })
	if os.Geteuid() != 0 {
		readOnlySite(t, path, id)
		return
	}
	cmd := exec.Command(self, "-test.run=^TestReadOnlySiteOpens$", "-test.v")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "FERRY_TEST_READONLY_SITE="+path, "FERRY_TEST_READONLY_ID="+id)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("as nobody: %v\n%s", err, out)
	}
}

func readOnlySite(t *testing.T, path, id string) {
	if f, err := os.OpenFile(path, os.O_WRONLY, 0); err == nil {
		f.Close()
		t.Fatalf("%s is writable: the test would prove nothing", path)
	}
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.ID() != id {
		t.Errorf("site id %s, want %s", s.ID(), id)
	}
	if rev, err := s.Rev(context.Background()); err != nil || rev != 1 {
		t.Errorf("rev = %d, %v; want 1", rev, err)
	}
}
