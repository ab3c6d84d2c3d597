package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// ferry sandbox serves a site; ferry export reads it back through the REST
// API with credentials from the environment, through faults and a rate
// limit, and never shows the token.
func TestSandboxAndCloudExportCLI(t *testing.T) {
	dir := t.TempDir()
	site := filepath.Join(dir, "s.db")
	must(t, 0, "generate", "--out", site, "--users", "10", "--spaces", "2", "--pages", "12", "--progress", "never")
	addr := startSandbox(t, site, "--fail-rate", "0.1")
	arch := filepath.Join(dir, "c.ferry")
	export := func(token string) (string, string, int) {
		return withToken(token, "export", "--from", "http://"+addr, "--out", arch, "--progress", "never")
	}
	_, errOut, code := export("wrong-token")
	if code != 1 || !strings.Contains(errOut, "401") || strings.Contains(errOut, "wrong-token") {
		t.Fatalf("wrong token: exit %d, %s", code, errOut)
	}
	out, errOut, code := export("sandbox-secret-token")
	if code != 0 || strings.Contains(out+errOut, "sandbox-secret-token") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	if !strings.Contains(out, "page") || strings.Contains(out, "NOT THE WHOLE SITE") {
		t.Errorf("export summary: %s", out)
	}
	out, _ = must(t, 0, "inspect", arch, "--sql", "SELECT count(*) FROM pages", "--format", "csv")
	if !strings.HasSuffix(strings.TrimSpace(out), "\n12") {
		t.Errorf("pages through the API: %s", out)
	}

	// A site without admin keys: the export and the review say plainly
	// that restricted content the account cannot see is not in it.
	addr = startSandbox(t, site, "--no-admin-key")
	out, errOut, code = withToken("sandbox-secret-token", "export", "--from", "http://"+addr, "--out", arch, "--progress", "never")
	const gap = "NOT THE WHOLE SITE: exported without an admin key"
	if code != 0 || !strings.Contains(out, gap) {
		t.Fatalf("export without an admin key: exit %d\n%s\n%s", code, out, errOut)
	}
	out, _ = must(t, 0, "inspect", arch)
	if !strings.Contains(out, gap) || !strings.Contains(out, "Restricted content") {
		t.Errorf("inspect of an export without an admin key:\n%s", out)
	}
}

// startSandbox serves site with ferry sandbox (token sandbox-secret-token)
// and returns its address.
func startSandbox(t *testing.T, site string, args ...string) string {
	t.Helper()
	cmd := exec.Command(ferryBin, append([]string{"sandbox", "--site", site, "--listen", "127.0.0.1:0"}, args...)...)
	cmd.Env = append(os.Environ(), "FERRY_SANDBOX_TOKEN=sandbox-secret-token")
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	lines := bufio.NewScanner(stderr)
	addr := ""
	deadline := time.Now().Add(10 * time.Second)
	for addr == "" && time.Now().Before(deadline) && lines.Scan() {
		if _, rest, ok := strings.Cut(lines.Text(), " at http://"); ok {
			addr, _, _ = strings.Cut(rest, "/wiki")
		}
	}
	if addr == "" {
		t.Fatal("the sandbox did not say where it serves")
	}
	go func() {
		for lines.Scan() {
		}
	}()
	return addr
}

// withToken runs ferry with Cloud credentials in its environment.
func withToken(token string, args ...string) (string, string, int) {
	return withEnv(nil, []string{"FERRY_EMAIL=admin@example.com", "FERRY_API_TOKEN=" + token}, args...)
}

// withEnv runs ferry with env added to its environment.
func withEnv(_ *testing.T, env []string, args ...string) (string, string, int) {
	c := exec.Command(ferryBin, args...)
	c.Env = append(os.Environ(), env...)
	var out, errb strings.Builder
	c.Stdout, c.Stderr = &out, &errb
	err := c.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	}
	return out.String(), errb.String(), code
}

// Importing into Confluence Cloud (a sandbox standing in for a new site):
// a wrong token, an account that is not a site admin, and apps the site
// lacks each stop the import before any write, saying what is missing;
// then it imports, and a second run writes nothing.
func TestCloudImportPreflightCLI(t *testing.T) {
	dir := t.TempDir()
	site, dest := filepath.Join(dir, "s.db"), filepath.Join(dir, "dest.db")
	must(t, 0, "generate", "--out", site, "--users", "8", "--spaces", "1", "--pages", "6", "--progress", "never")
	arch := filepath.Join(dir, "s.ferry")
	must(t, 0, "export", "--from", site, "--out", arch, "--progress", "never")
	countWrites := func() string {
		out, _ := must(t, 0, "inspect", arch, "--sql", "SELECT 1", "--format", "csv") // keeps the archive readable
		_ = out
		st, err := os.Stat(dest)
		if err != nil {
			return "no site"
		}
		return st.ModTime().String()
	}
	readOnly := startSandbox(t, dest, "--read-only")
	before := countWrites()
	journal := filepath.Join(dir, "j.db")
	importTo := func(addr, token string, extra ...string) (string, string, int) {
		return withToken(token, append([]string{"import", arch, "--to", "http://" + addr, "--journal", journal, "--progress", "never"}, extra...)...)
	}
	_, errOut, code := importTo(readOnly, "wrong-token")
	if code != 1 || !strings.Contains(errOut, "401") || strings.Contains(errOut, "wrong-token") {
		t.Fatalf("wrong token: exit %d, %s", code, errOut)
	}
	_, errOut, code = importTo(readOnly, "sandbox-secret-token")
	if code != 1 || !strings.Contains(errOut, "administer application") || !strings.Contains(errOut, "nothing was imported") {
		t.Fatalf("non-admin: exit %d, %s", code, errOut)
	}
	admin := startSandbox(t, dest)
	_, errOut, code = importTo(admin, "sandbox-secret-token")
	if code != 1 || !strings.Contains(errOut, "draw.io") || !strings.Contains(errOut, "--allow-missing-apps") {
		t.Fatalf("missing apps: exit %d, %s", code, errOut)
	}
	if after := countWrites(); after != before {
		t.Errorf("failed preflights changed the destination (%s, then %s)", before, after)
	}
	out, errOut, code := importTo(admin, "sandbox-secret-token", "--allow-missing-apps")
	if code != 0 || !strings.Contains(out, "app missing at the destination") {
		t.Fatalf("import: exit %d\n%s\n%s", code, out, errOut)
	}
	os.Remove(journal) // even without its journal, a second run writes nothing
	out, errOut, code = importTo(admin, "sandbox-secret-token", "--allow-missing-apps", "--format", "json")
	if code != 0 || strings.Contains(out, `"created":1`) || strings.Contains(out, `"created":2`) {
		t.Fatalf("second run: exit %d\n%s\n%s", code, out, errOut)
	}
}
