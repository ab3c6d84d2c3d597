package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestGenerateExportVerify(t *testing.T) {
	dir := t.TempDir()
	site := filepath.Join(dir, "site.db")
	out, stderr, code := ferry(t, nil, "generate", "--out", site, "--users", "30", "--spaces", "3", "--pages", "120", "--seed", "9")
	if code != 0 || !strings.Contains(out, "generated") {
		t.Fatalf("generate: exit %d\n%s%s", code, out, stderr)
	}
	if _, _, code := ferry(t, nil, "generate", "--out", site); code != 1 {
		t.Errorf("generate over an existing site: exit %d, want 1", code)
	}
	full := filepath.Join(dir, "full.ferry")
	out, stderr, code = ferry(t, nil, "export", "--from", site, "--out", full, "--format", "json")
	var sum struct {
		Events int64            `json:"events"`
		ByKind map[string]int64 `json:"events_by_kind"`
		Digest string           `json:"events_digest"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &sum) != nil || sum.Events == 0 || sum.ByKind["page"] == 0 {
		t.Fatalf("export: exit %d\n%s%s", code, out, stderr)
	}
	if out, _, code := ferry(t, nil, "verify", full); code != 0 {
		t.Fatalf("verify: exit %d\n%s", code, out)
	}
	// The same site exported again: the same events.
	again := filepath.Join(dir, "again.ferry")
	out, _, _ = ferry(t, nil, "export", "--from", "local:"+site, "--out", again, "--format", "json")
	var sum2 struct {
		Digest string `json:"events_digest"`
	}
	json.Unmarshal([]byte(out), &sum2)
	if sum2.Digest != sum.Digest {
		t.Errorf("second export's digest %s differs from %s", sum2.Digest, sum.Digest)
	}
	// An increment of the unchanged site says so.
	out, stderr, code = ferry(t, nil, "export", "--from", site, "--out", filepath.Join(dir, "none.ferry"), "--since", full)
	if code != 0 || !strings.Contains(out, "events   0: nothing changed since the archive it continues") {
		t.Errorf("increment of an unchanged site: exit %d\n%s%s", code, out, stderr)
	}
	if out, stderr, code := ferry(t, nil, "generate", "--evolve", site, "--changes", "50", "--seed", "2"); code != 0 {
		t.Fatalf("evolve: exit %d\n%s%s", code, out, stderr)
	}
	inc := filepath.Join(dir, "inc.ferry")
	out, stderr, code = ferry(t, nil, "export", "--from", site, "--out", inc, "--since", full)
	if code != 0 || !strings.Contains(out, "continues") {
		t.Fatalf("incremental export: exit %d\n%s%s", code, out, stderr)
	}
	out, _, _ = ferry(t, nil, "verify", inc)
	if !strings.Contains(out, "parent") {
		t.Errorf("verify of the increment does not name its parent:\n%s", out)
	}
}

func TestExportBadInput(t *testing.T) {
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.db")
	os.WriteFile(junk, []byte(strings.Repeat("not sqlite ", 100)), 0o644)
	site := filepath.Join(dir, "site.db")
	ferry(t, nil, "generate", "--out", site, "--users", "5", "--spaces", "1", "--pages", "3")
	out := filepath.Join(dir, "x.ferry")
	cases := []struct {
		args    []string
		code    int
		mention string
	}{
		{[]string{"export", "--from", filepath.Join(dir, "missing.db"), "--out", out}, 1, "missing.db"},
		{[]string{"export", "--from", junk, "--out", out}, 1, "not a SQLite file"},
		{[]string{"export", "--from", site, "--out", out, "--spaces", "NOSUCH"}, 1, `"NOSUCH"`},
		{[]string{"export", "--from", site, "--out", out, "--since", junk}, 1, "--since"},
		{[]string{"export", "--from", site}, 2, "--out"},
		{[]string{"export", "--from", "https://example.atlassian.net", "--out", out}, 1, "no credentials"},
		{[]string{"export", "--from", "https://example.atlassian.net", "--out", out, "--credentials", junk}, 1, "KEY=VALUE"},
		{[]string{"generate", "--evolve", site}, 2, "--changes"},
		{[]string{"generate", "--out", filepath.Join(dir, "n.db"), "--pages", "0"}, 2, "--pages"},
	}
	for _, c := range cases {
		_, stderr, code := ferry(t, nil, c.args...)
		if code != c.code || !strings.Contains(stderr, c.mention) {
			t.Errorf("ferry %s: exit %d, stderr %q; want exit %d mentioning %q", strings.Join(c.args, " "), code, stderr, c.code, c.mention)
		}
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("a failed export left an archive")
	}
	if entries, _ := filepath.Glob(filepath.Join(dir, ".x.ferry*")); len(entries) > 0 {
		t.Errorf("a failed export left %v", entries)
	}
}
