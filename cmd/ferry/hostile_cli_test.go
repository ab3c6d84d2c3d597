package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"ferry/internal/lock"
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

// What an archive says is printed safely: a terminal escape sequence in
// its header (here in the source's path) is shown as an escape, not sent
// to the terminal. (Before the fix inspect printed it raw.)
func TestUntrustedTextIsPrintedSafely(t *testing.T) {
	dir := t.TempDir()
	site := filepath.Join(dir, "site\x1b]0;owned\x07\x1b[2J\u202e.db")
	arch := filepath.Join(dir, "a.ferry")
	must(t, 0, "generate", "--out", site, "--users", "4", "--spaces", "1", "--pages", "4", "--progress", "never")
	must(t, 0, "export", "--from", site, "--out", arch, "--progress", "never")
	for _, args := range [][]string{{"inspect", arch}, {"inspect", arch, "--sql", "SELECT json_extract_string(payload, '$.name') AS n FROM events WHERE type = 'space.created'"}} {
		out, errOut := must(t, 0, args...)
		if strings.ContainsAny(out+errOut, "\x1b\x07\u202e") {
			t.Errorf("ferry %s printed control characters raw:\n%q", strings.Join(args, " "), out)
		}
	}
	out, _ := must(t, 0, "inspect", arch)
	if !strings.Contains(out, `\x1b]0;owned\a\x1b[2J\u202e`) {
		t.Errorf("the source's path is not shown escaped:\n%s", out)
	}
}

// The sandbox lets nobody in without the token it was given: it does not
// start without one, and it warns when it listens beyond loopback.
// (Before the fix it accepted any credential as an admin, and bound every
// interface without a word.)
func TestSandboxNeedsItsToken(t *testing.T) {
	site := filepath.Join(t.TempDir(), "s.db")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	noToken := exec.CommandContext(ctx, ferryBin, "sandbox", "--site", site, "--listen", "127.0.0.1:0")
	noToken.Env = append(os.Environ(), "FERRY_SANDBOX_TOKEN=")
	var stderr strings.Builder
	noToken.Stderr = &stderr
	err := noToken.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 || !strings.Contains(stderr.String(), "FERRY_SANDBOX_TOKEN") {
		t.Errorf("without a token: %v, %q; want exit 2 naming FERRY_SANDBOX_TOKEN", err, stderr.String())
	}
	cmd := exec.Command(ferryBin, "sandbox", "--site", site, "--listen", "0.0.0.0:0")
	cmd.Env = append(os.Environ(), "FERRY_SANDBOX_TOKEN=t0ken")
	stderrPipe, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	var seen strings.Builder
	buf := make([]byte, 4096)
	for !strings.Contains(seen.String(), "serving") {
		n, err := stderrPipe.Read(buf)
		seen.Write(buf[:n])
		if err != nil {
			break
		}
	}
	if !strings.Contains(seen.String(), "warning: listening on") {
		t.Errorf("no warning for all interfaces:\n%s", seen.String())
	}
}

// What ferry writes that holds the archive's data is readable by its
// owner only, as archives are: inspect's results and reports, and the
// sites it creates. (Before the fix they were created 0644.)
func TestOutputsAreOwnerOnly(t *testing.T) {
	dir := t.TempDir()
	arch := filepath.Join(dir, "a.ferry")
	site := filepath.Join(dir, "s.db")
	must(t, 0, "generate", "--out", site, "--users", "4", "--spaces", "1", "--pages", "4", "--progress", "never")
	must(t, 0, "export", "--from", site, "--out", arch, "--progress", "never")
	files := []string{site, arch}
	for _, ext := range []string{"csv", "json", "parquet"} {
		out := filepath.Join(dir, "users."+ext)
		must(t, 0, "inspect", arch, "--sql", "SELECT * FROM users", "--out", out)
		files = append(files, out)
	}
	report := filepath.Join(dir, "r.html")
	must(t, 0, "inspect", arch, "--report", report)
	dest := filepath.Join(dir, "copy.db")
	must(t, 0, "import", arch, "--to", dest, "--allow-missing-apps", "--progress", "never")
	files = append(files, report, dest)
	for _, f := range files {
		st, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", filepath.Base(f), st.Mode().Perm())
		}
	}
}

// A second import into a destination an import is writing is refused,
// naming the first, before it writes: into an embedded site, and into a
// Cloud site through its journal. (Before the fix the second embedded run
// took the first for an interrupted one, and over HTTP two runs wrote the
// same page twice.)
func TestConcurrentImportsAreRefused(t *testing.T) {
	dir := t.TempDir()
	site, arch := filepath.Join(dir, "s.db"), filepath.Join(dir, "a.ferry")
	must(t, 0, "generate", "--out", site, "--users", "4", "--spaces", "1", "--pages", "4", "--progress", "never")
	must(t, 0, "export", "--from", site, "--out", arch, "--progress", "never")
	dest := filepath.Join(dir, "copy.db")
	held, err := lock.Acquire(dest+".lock", "ferry import first.ferry")
	if err != nil {
		t.Fatal(err)
	}
	_, stderr := must(t, 1, "import", arch, "--to", dest, "--allow-missing-apps", "--progress", "never")
	if !strings.Contains(stderr, "another import into") || !strings.Contains(stderr, "first.ferry") {
		t.Errorf("a second import: %q", stderr)
	}
	if _, err := os.Stat(dest); err == nil {
		t.Error("the refused import created the destination")
	}
	// A dry run takes no lock: it writes nothing.
	must(t, 0, "import", arch, "--to", dest, "--allow-missing-apps", "--dry-run", "--progress", "never")
	held.Release()
	must(t, 0, "import", arch, "--to", dest, "--allow-missing-apps", "--progress", "never")

	journal := filepath.Join(dir, "journal.db")
	held, err = lock.Acquire(journal+".lock", "ferry import first.ferry")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Release()
	_, stderr, code := withToken("x", "import", arch, "--to", "http://127.0.0.1:9", "--journal", journal, "--allow-missing-apps")
	if code != 1 || !strings.Contains(stderr, "another import into http://127.0.0.1:9") {
		t.Errorf("a second import into Cloud: exit %d, %q", code, stderr)
	}
}

// A dry run into a site that does not exist creates nothing, and shows
// the whole plan even when the real run would stop (missing apps here),
// then says why it would stop, exiting 1. inspect --against a new site
// reviews it. A refused import prints no table of zeros. (Before the fix
// the dry run created the site and stopped at the apps check without a
// plan; --against a new site failed; a refusal printed "imported ...
// total 0".)
func TestPlansAgainstNewSites(t *testing.T) {
	dir := t.TempDir()
	site, arch := filepath.Join(dir, "s.db"), filepath.Join(dir, "a.ferry")
	must(t, 0, "generate", "--out", site, "--users", "6", "--spaces", "2", "--pages", "10", "--progress", "never")
	must(t, 0, "export", "--from", site, "--out", arch, "--progress", "never")
	dest := filepath.Join(dir, "new.db")
	out, stderr := must(t, 1, "import", arch, "--to", dest, "--dry-run", "--progress", "never")
	if _, err := os.Stat(dest); err == nil {
		t.Error("the dry run created the destination")
	}
	if !strings.Contains(out, "dry run") || !strings.Contains(out, "page ") || strings.Contains(out, "total                     0        0") {
		t.Errorf("the dry run shows no plan:\n%s", out)
	}
	if !strings.Contains(stderr, "would stop") || !strings.Contains(stderr, "allow-missing-apps") {
		t.Errorf("the dry run does not say why the real one would stop: %q", stderr)
	}
	out, _ = must(t, 0, "inspect", arch, "--against", dest)
	if _, err := os.Stat(dest); err == nil || !strings.Contains(out, "new.db") {
		t.Errorf("inspect --against a new site:\n%s", out)
	}
	out, stderr = must(t, 1, "import", arch, "--to", dest, "--progress", "never")
	if strings.Contains(out, "imported") || !strings.Contains(stderr, "app(s) installed at the source are missing") {
		t.Errorf("a refused import printed %q, %q", out, stderr)
	}
	if _, err := os.Stat(dest); err == nil {
		t.Error("the refused import left a new, empty site behind")
	}
}

// Ctrl-C stops an export cleanly: it says it was interrupted, exits 130,
// and leaves no hidden partial archive. (Before the fix it printed
// nothing and left .NAME.partial-* behind.)
func TestInterruptedExportLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	site := filepath.Join(dir, "s.db")
	must(t, 0, "generate", "--out", site, "--users", "50", "--spaces", "3", "--pages", "6000", "--progress", "never")
	cmd := exec.Command(ferryBin, "export", "--from", site, "--out", filepath.Join(dir, "s.ferry"), "--progress", "never")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	partial := func() []string {
		m, _ := filepath.Glob(filepath.Join(dir, ".s.ferry.partial-*"))
		return m
	}
	for deadline := time.Now().Add(30 * time.Second); len(partial()) == 0; {
		if time.Now().After(deadline) {
			t.Fatal("the export never started writing")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cmd.Process.Signal(os.Interrupt)
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 130 || !strings.Contains(stderr.String(), "interrupted") {
		t.Fatalf("an interrupted export: %v, %q; want exit 130 saying it was interrupted", err, stderr.String())
	}
	if left := partial(); len(left) > 0 {
		t.Errorf("left behind: %v", left)
	}
	if _, err := os.Stat(filepath.Join(dir, "s.ferry")); err == nil {
		t.Error("an interrupted export wrote the archive")
	}
}

// The summary lists as not copied only what an import may leave out:
// versions are copied (into Cloud with their authorship in the message),
// and spaces are not "excluded by --spaces" when nobody chose spaces. The
// largest attachments have column headings; a bare "at" gets a hint. (All
// four were misleading before.)
func TestSummarySaysWhatIsNotCopied(t *testing.T) {
	dir := t.TempDir()
	site, arch := filepath.Join(dir, "s.db"), filepath.Join(dir, "a.ferry")
	must(t, 0, "generate", "--out", site, "--users", "20", "--spaces", "3", "--pages", "30", "--progress", "never")
	must(t, 0, "export", "--from", site, "--out", arch, "--progress", "never")
	out, _ := must(t, 0, "inspect", arch, "--format", "json")
	var s struct {
		NotCopied []struct {
			Kind string `json:"kind"`
		} `json:"not_copied"`
	}
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatal(err)
	}
	for _, l := range s.NotCopied {
		switch l.Kind {
		case "page", "blogpost", "comment", "space":
			t.Errorf("the summary lists %s events as not always copied", l.Kind)
		}
	}
	out, _ = must(t, 0, "inspect", arch)
	if !strings.Contains(out, "bytes  space/file name (attachment id)") {
		t.Errorf("the largest attachments have no headings:\n%s", out)
	}
	_, stderr := must(t, 1, "inspect", arch, "--sql", "SELECT at FROM events LIMIT 1")
	if !strings.Contains(stderr, `write the column as "at"`) {
		t.Errorf("no hint for a bare at: %q", stderr)
	}
}

// The demo prints commands a user can paste into a shell.
func TestShellQuote(t *testing.T) {
	got := shellQuote([]string{"inspect", "a b.ferry", "--sql", "SELECT 'x' FROM t", "--out", "r.csv"})
	want := `inspect 'a b.ferry' --sql 'SELECT '\''x'\'' FROM t' --out r.csv`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}
