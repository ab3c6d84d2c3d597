package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"ferry/archive"
)

// These tests build the ferry binary and run it as a user would.

var ferryBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "ferry-cli-test-")
	if err != nil {
		panic(err)
	}
	ferryBin = filepath.Join(dir, "ferry")
	// inspect's cache goes here, not into the user's: each run of these
	// tests added some twenty entries there.
	os.Setenv("XDG_CACHE_HOME", filepath.Join(dir, "cache"))
	build := exec.Command("go", "build", "-o", ferryBin, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		panic("build ferry: " + err.Error())
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// ferry runs the binary and returns stdout, stderr and the exit code.
func ferry(t *testing.T, stdin []byte, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(ferryBin, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	err := cmd.Run()
	var ee *exec.ExitError
	code := 0
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

const golden = "../../spec/testdata/golden-1.0.ferry"

func TestVerifyIntactArchive(t *testing.T) {
	out, _, code := ferry(t, nil, "verify", golden)
	if code != 0 || !strings.Contains(out, "intact") || !strings.Contains(out, "events    129") {
		t.Fatalf("exit %d, output:\n%s", code, out)
	}
	out, _, code = ferry(t, nil, "verify", golden, "--format", "json")
	var rep struct {
		Intact bool  `json:"intact"`
		Events int64 `json:"events"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &rep) != nil || !rep.Intact || rep.Events != 129 {
		t.Fatalf("exit %d, json output:\n%s", code, out)
	}
}

func TestVerifyFromStdin(t *testing.T) {
	data, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if out, _, code := ferry(t, data, "verify", "-"); code != 0 || !strings.Contains(out, "intact") {
		t.Fatalf("exit %d, output:\n%s", code, out)
	}
}

func TestVerifyDamagedArchiveNamesTheMember(t *testing.T) {
	data, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	// Flip a byte inside the event segment's data.
	i := bytes.Index(data, []byte("PAR1"))
	data[i+100] ^= 0x55
	path := filepath.Join(t.TempDir(), "damaged.ferry")
	os.WriteFile(path, data, 0o644)
	out, _, code := ferry(t, nil, "verify", path)
	if code != 1 || !strings.Contains(out, "DAMAGED") || !strings.Contains(out, "events/00000001.parquet") {
		t.Fatalf("exit %d, output:\n%s", code, out)
	}
	out, _, code = ferry(t, nil, "verify", path, "--format", "json")
	var rep struct {
		Intact   bool `json:"intact"`
		Problems []struct {
			Member string `json:"member"`
		} `json:"problems"`
	}
	if code != 1 || json.Unmarshal([]byte(out), &rep) != nil || rep.Intact || rep.Problems[0].Member != "events/00000001.parquet" {
		t.Fatalf("exit %d, json output:\n%s", code, out)
	}
}

func TestUsageErrorsExit2(t *testing.T) {
	for _, args := range [][]string{
		{"verify"},
		{"verify", "a", "b"},
		{"verify", golden, "--format", "yaml"},
		{"verify", golden, "--no-such-flag"},
		{"--log-level", "loud", "verify", golden},
		{"no-such-command"},
	} {
		_, stderr, code := ferry(t, nil, args...)
		if code != 2 {
			t.Errorf("ferry %s: exit %d, want 2 (stderr %q)", strings.Join(args, " "), code, stderr)
		}
		if stderr == "" {
			t.Errorf("ferry %s: no message on stderr", strings.Join(args, " "))
		}
	}
}

func TestMissingArchiveExits1(t *testing.T) {
	_, stderr, code := ferry(t, nil, "verify", "/no/such/site.ferry")
	if code != 1 || !strings.Contains(stderr, "/no/such/site.ferry") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
}

// A command whose inputs are all flags, given them as arguments, says so,
// with the line to use.
func TestArgumentsForFlagsNameTheFlags(t *testing.T) {
	_, stderr, code := ferry(t, nil, "export", "site.db", "site.ferry")
	if code != 2 || !strings.Contains(stderr, "export takes no arguments") || !strings.Contains(stderr, "--from SITE --out ARCHIVE") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
}

func TestHelpAndVersion(t *testing.T) {
	out, _, code := ferry(t, nil, "--help")
	if code != 0 || !strings.Contains(out, "verify") {
		t.Fatalf("exit %d, help:\n%s", code, out)
	}
	out, _, code = ferry(t, nil, "verify", "--help")
	if code != 0 || !strings.Contains(out, "Examples:") {
		t.Fatalf("verify --help lacks an example:\n%s", out)
	}
	out, _, code = ferry(t, nil, "version", "--format", "json")
	var v map[string]string
	if code != 0 || json.Unmarshal([]byte(out), &v) != nil || v["archive_writes"] != archive.Version {
		t.Fatalf("exit %d, version:\n%s", code, out)
	}
	text, _, _ := ferry(t, nil, "version")
	out, stderr, code := ferry(t, nil, "--version")
	if code != 0 || out != text || !strings.Contains(out, "archive format "+archive.Version) {
		t.Fatalf("ferry --version: exit %d, %q (stderr %q); ferry version printed %q", code, out, stderr, text)
	}
}

// inspect --extract writes the events, the blob index and the views files
// into a new folder, and refuses one that has files.
func TestInspectExtract(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "audit")
	out, stderr, code := ferry(t, nil, "inspect", golden, "--extract", dir)
	if code != 0 || !strings.Contains(out, "extracted") {
		t.Fatalf("exit %d\n%s%s", code, out, stderr)
	}
	for _, name := range []string{"views.sql", "views.spark.sql", "views.trino.sql", "blobs/blobs.parquet"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Error(err)
		}
	}
	if parts, _ := filepath.Glob(filepath.Join(dir, "events", "kind=*", "archive=*", "*.parquet")); len(parts) == 0 {
		t.Error("no events/kind=*/archive=*/*.parquet")
	}
	_, stderr, code = ferry(t, nil, "inspect", golden, "--extract", dir)
	if code == 0 || !strings.Contains(stderr, "not empty") {
		t.Errorf("into a folder with files: exit %d, %s", code, stderr)
	}
	_, stderr, code = ferry(t, nil, "inspect", golden, "--extract", dir+"2", "--sql", "SELECT 1")
	if code != 2 {
		t.Errorf("--extract with --sql: exit %d, %s", code, stderr)
	}
}

// inspect keeps what it checked in the user's cache ($XDG_CACHE_HOME),
// answers the same from it, and keeps nothing with --no-cache.
func TestInspectCache(t *testing.T) {
	cache := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", cache)
	query := "SELECT type, count(*) FROM events GROUP BY 1 ORDER BY 1"
	want, stderr, code := ferry(t, nil, "inspect", golden, "--sql", query, "--no-cache")
	if code != 0 {
		t.Fatalf("--no-cache: exit %d: %s", code, stderr)
	}
	if ds, _ := os.ReadDir(filepath.Join(cache, "ferry", "inspect")); len(ds) != 0 {
		t.Fatalf("--no-cache kept %d entries", len(ds))
	}
	for i := range 2 {
		got, stderr, code := ferry(t, nil, "inspect", golden, "--sql", query)
		if code != 0 || got != want {
			t.Fatalf("call %d through the cache: exit %d: %s\n%s\nwant\n%s", i+1, code, stderr, got, want)
		}
	}
	if entries, _ := filepath.Glob(filepath.Join(cache, "ferry", "inspect", "*", "entry.json")); len(entries) != 1 {
		t.Fatalf("%d cache entries, want 1", len(entries))
	}
	// The summary, computed on the first call and then remembered, reads
	// the same as one computed afresh, as text and as JSON.
	for _, format := range []string{"text", "json"} {
		want, stderr, code := ferry(t, nil, "inspect", golden, "--format", format, "--no-cache")
		if code != 0 {
			t.Fatalf("summary (%s) with --no-cache: exit %d: %s", format, code, stderr)
		}
		for i := range 2 {
			got, stderr, code := ferry(t, nil, "inspect", golden, "--format", format)
			if code != 0 || got != want {
				t.Fatalf("summary %d (%s) through the cache: exit %d: %s\n%s\nwant\n%s", i+1, format, code, stderr, got, want)
			}
		}
	}
	if memos, _ := filepath.Glob(filepath.Join(cache, "ferry", "inspect", "*", "summary.json")); len(memos) != 1 {
		t.Fatalf("%d remembered summaries, want 1", len(memos))
	}
}

// A usage error names the help to read by the command's whole path.
func TestUsageErrorNamesTheHelp(t *testing.T) {
	for args, want := range map[string]string{
		"--bogus":          "see 'ferry --help'",
		"verify --bogus x": "see 'ferry verify --help'",
	} {
		_, stderr, code := ferry(t, nil, strings.Fields(args)...)
		if code != 2 || !strings.Contains(stderr, want) {
			t.Errorf("ferry %s: exit %d, %q; want exit 2 and %q", args, code, stderr, want)
		}
	}
}
