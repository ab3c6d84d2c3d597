package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// A site URL that would leak the token is refused before anything is
// read or written, and the password in a URL is never printed.
func TestSiteURLsThatLeakCredentialsAreRefused(t *testing.T) {
	dir := t.TempDir()
	arch := filepath.Join(dir, "x.ferry")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"export", "--from", "http://me:PASSWORD@example.com", "--out", arch}, "user name or password"},
		{[]string{"export", "--from", "http://example.com", "--out", arch}, "in clear"},
		{[]string{"import", golden, "--to", "https://me:PASSWORD@example.com"}, "user name or password"},
		{[]string{"import", golden, "--to", "http://example.com"}, "in clear"},
		{[]string{"inspect", golden, "--against", "https://me:PASSWORD@example.com"}, "user name or password"},
	} {
		out, stderr, code := withEnv(t, []string{"FERRY_TOKEN=t0ken"}, c.args...)
		if code != 1 || !strings.Contains(stderr, c.want) {
			t.Errorf("ferry %s: exit %d, stderr %q; want 1 and %q", strings.Join(c.args, " "), code, stderr, c.want)
		}
		if strings.Contains(out+stderr, "PASSWORD") {
			t.Errorf("ferry %s printed the password: %s%s", strings.Join(c.args, " "), out, stderr)
		}
		if _, err := os.Stat(arch); err == nil {
			t.Fatalf("ferry %s wrote an archive", strings.Join(c.args, " "))
		}
	}
}

// import --trust checks the archive and imports from one open file: an
// unsigned archive renamed over the path while the import waits on its
// --map (a FIFO) is never read. (Before the fix the signature was checked
// on one open and the import read another, so the unsigned one went in.)
func TestImportReadsTheArchiveItChecked(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "k")
	must(t, 0, "keygen", "--out", key)
	signed, unsigned := filepath.Join(dir, "signed.ferry"), filepath.Join(dir, "unsigned.ferry")
	for _, s := range []struct {
		arch, seed string
		flags      []string
	}{{signed, "1", []string{"--sign", key}}, {unsigned, "2", nil}} {
		site := filepath.Join(dir, "site"+s.seed+".db")
		must(t, 0, "generate", "--out", site, "--users", "6", "--spaces", "1", "--pages", "8", "--seed", s.seed, "--progress", "never")
		must(t, 0, append([]string{"export", "--from", site, "--out", s.arch, "--progress", "never"}, s.flags...)...)
	}
	original := filepath.Join(dir, "signed-copy.ferry")
	data, _ := os.ReadFile(signed)
	os.WriteFile(original, data, 0o600)
	fifo := filepath.Join(dir, "map.csv")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	dest := filepath.Join(dir, "dest.db")
	cmd := exec.Command(ferryBin, "import", signed, "--to", dest, "--trust", key+".pub", "--map", fifo, "--allow-missing-apps", "--progress", "never")
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Opening the FIFO for writing returns once ferry opens it to read the
	// map: it has checked the archive by then.
	w, err := os.OpenFile(fifo, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(unsigned, signed); err != nil {
		t.Fatal(err)
	}
	w.WriteString("kind,source,destination\n")
	w.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("import: %v\n%s", err, out.String())
	}
	if _, stderr, code := ferry(t, nil, "compare", original, dest); code != 0 {
		t.Fatalf("the destination is not the signed archive's site (exit %d):\n%s", code, stderr)
	}
}
