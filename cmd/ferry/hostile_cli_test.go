package main

import (
	"os"
	"path/filepath"
	"strings"
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
