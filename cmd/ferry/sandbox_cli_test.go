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
	cmd := exec.Command(ferryBin, "sandbox", "--site", site, "--listen", "127.0.0.1:0", "--fail-rate", "0.1")
	cmd.Env = append(os.Environ(), "FERRY_SANDBOX_TOKEN=sandbox-secret-token")
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
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
	arch := filepath.Join(dir, "c.ferry")
	export := func(token string) (string, string, int) {
		c := exec.Command(ferryBin, "export", "--from", "http://"+addr, "--out", arch, "--progress", "never")
		c.Env = append(os.Environ(), "FERRY_EMAIL=admin@example.com", "FERRY_API_TOKEN="+token)
		var out, errb strings.Builder
		c.Stdout, c.Stderr = &out, &errb
		err := c.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
		return out.String(), errb.String(), code
	}
	_, errOut, code := export("wrong-token")
	if code != 1 || !strings.Contains(errOut, "401") || strings.Contains(errOut, "wrong-token") {
		t.Fatalf("wrong token: exit %d, %s", code, errOut)
	}
	out, errOut, code := export("sandbox-secret-token")
	if code != 0 || strings.Contains(out+errOut, "sandbox-secret-token") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	if !strings.Contains(out, "page") {
		t.Errorf("export summary: %s", out)
	}
	out, _ = must(t, 0, "inspect", arch, "--sql", "SELECT count(*) FROM pages", "--format", "csv")
	if !strings.HasSuffix(strings.TrimSpace(out), "\n12") {
		t.Errorf("pages through the API: %s", out)
	}
}
