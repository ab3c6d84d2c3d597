package main

import (
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestKillNineThenResume kills real imports at random moments with SIGKILL
// and runs the same command again until it finishes; the copy then
// compares equal to the source.
func TestKillNineThenResume(t *testing.T) {
	dir := t.TempDir()
	site, archive := filepath.Join(dir, "site.db"), filepath.Join(dir, "site.ferry")
	if _, stderr, code := ferry(t, nil, "generate", "--out", site, "--users", "80", "--spaces", "4", "--pages", "1500", "--seed", "3"); code != 0 {
		t.Fatal(stderr)
	}
	if _, stderr, code := ferry(t, nil, "export", "--from", site, "--out", archive); code != 0 {
		t.Fatal(stderr)
	}
	rng := rand.New(rand.NewSource(time.Now().UnixNano()))
	for trial := 0; trial < 3; trial++ {
		copyDB := filepath.Join(dir, "copy"+string(rune('a'+trial))+".db")
		kills := 0
		for attempt := 0; attempt < 8; attempt++ {
			cmd := exec.Command(ferryBin, "import", archive, "--to", copyDB, "--allow-missing-apps")
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("import failed: %v", err)
				}
				attempt = 99 // finished
			case <-time.After(time.Duration(20+rng.Intn(400)) * time.Millisecond):
				cmd.Process.Signal(syscall.SIGKILL)
				<-done
				kills++
			}
		}
		out, stderr, code := ferry(t, nil, "import", archive, "--to", copyDB, "--allow-missing-apps")
		if code != 0 || !strings.Contains(out, "imported") {
			t.Fatalf("final import: exit %d\n%s%s", code, out, stderr)
		}
		out, _, code = ferry(t, nil, "compare", site, copyDB)
		if code != 0 {
			t.Fatalf("after %d kills the copy differs:\n%s", kills, out)
		}
		t.Logf("trial %d: %d kills, then equal", trial, kills)
	}
}

func TestDamagedArchiveCreatesNoDestination(t *testing.T) {
	dir := t.TempDir()
	site, archive := filepath.Join(dir, "site.db"), filepath.Join(dir, "site.ferry")
	ferry(t, nil, "generate", "--out", site, "--users", "10", "--spaces", "1", "--pages", "20")
	ferry(t, nil, "export", "--from", site, "--out", archive)
	data, _ := os.ReadFile(archive)
	data[len(data)/3] ^= 1
	os.WriteFile(archive, data, 0o644)
	dest := filepath.Join(dir, "new.db")
	_, stderr, code := ferry(t, nil, "import", archive, "--to", dest)
	if code != 1 || !strings.Contains(stderr, "damaged, nothing was imported") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	if _, err := os.Stat(dest); err == nil {
		t.Fatal("a refused import created the destination")
	}
}

func TestImportAndCompareCLI(t *testing.T) {
	dir := t.TempDir()
	site, archive, copyDB := filepath.Join(dir, "site.db"), filepath.Join(dir, "site.ferry"), filepath.Join(dir, "copy.db")
	ferry(t, nil, "generate", "--out", site, "--users", "20", "--spaces", "2", "--pages", "60")
	ferry(t, nil, "export", "--from", site, "--out", archive)
	out, _, code := ferry(t, nil, "import", archive, "--to", copyDB, "--allow-missing-apps", "--dry-run")
	if code != 0 || !strings.Contains(out, "nothing was written") {
		t.Fatalf("dry run: exit %d\n%s", code, out)
	}
	if _, _, code := ferry(t, nil, "compare", site, copyDB); code != 1 {
		t.Fatalf("compare after a dry run: exit %d, want 1 (nothing was copied)", code)
	}
	if out, stderr, code := ferry(t, nil, "import", archive, "--to", copyDB, "--allow-missing-apps"); code != 0 {
		t.Fatalf("import: exit %d\n%s%s", code, out, stderr)
	}
	out, _, code = ferry(t, nil, "import", archive, "--to", copyDB, "--allow-missing-apps")
	if code != 0 || !strings.Contains(out, "total                     0        0        0") {
		t.Fatalf("re-run: exit %d\n%s", code, out)
	}
	if out, _, code := ferry(t, nil, "compare", site, copyDB); code != 0 || !strings.Contains(out, "equal") {
		t.Fatalf("compare: exit %d\n%s", code, out)
	}
	for _, c := range []struct {
		args    []string
		code    int
		mention string
	}{
		{[]string{"import", archive}, 2, "--to"},
		{[]string{"import", archive, "--to", copyDB, "--on-conflict", "overwrite"}, 2, "--on-conflict"},
		{[]string{"import", filepath.Join(dir, "nope.ferry"), "--to", copyDB}, 1, "nope.ferry"},
		{[]string{"compare", site}, 2, "A B"},
		{[]string{"compare", site, filepath.Join(dir, "nope.db")}, 1, "nope.db"},
	} {
		_, stderr, code := ferry(t, nil, c.args...)
		if code != c.code || !strings.Contains(stderr, c.mention) {
			t.Errorf("ferry %s: exit %d, stderr %q", strings.Join(c.args, " "), code, stderr)
		}
	}
}
