package main

import (
	"archive/zip"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// zipFolder writes the files under dir into a zip, as Confluence exports.
func zipFolder(t *testing.T, dir, out string) {
	t.Helper()
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		w, err := zw.Create(filepath.ToSlash(rel))
		if err != nil {
			return err
		}
		src, err := os.Open(p)
		if err != nil {
			return err
		}
		defer src.Close()
		_, err = io.Copy(w, src)
		return err
	})
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

// An XML export (here as the zip Confluence writes) becomes an archive that
// inspects, imports and compares like any other: the page tree, history
// order, attachment versions and restrictions arrive intact.
func TestXMLExportRoundTrip(t *testing.T) {
	dir := t.TempDir()
	export := filepath.Join(dir, "export.zip")
	zipFolder(t, "../../confluencexml/testdata/small", export)
	arch, copyDB := filepath.Join(dir, "x.ferry"), filepath.Join(dir, "copy.db")
	must(t, 0, "export", "--from", "xml:"+export, "--out", arch, "--progress", "never")
	must(t, 0, "verify", arch)

	out, _ := must(t, 0, "inspect", arch, "--format", "json")
	var s struct {
		ByKind map[string]int64 `json:"events_by_kind"`
		Held   []struct {
			Class   string
			Objects int64
		} `json:"source_not_copied"`
	}
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatal(err)
	}
	if s.ByKind["page"] != 8 || s.ByKind["attachment"] != 4 || s.ByKind["restriction"] != 2 || len(s.Held) != 5 {
		t.Errorf("inspect: %s", out)
	}
	out, _ = must(t, 0, "inspect", arch, "--sql", `SELECT count(*) FROM page_versions WHERE format = 'wiki'`, "--format", "csv")
	if !strings.HasSuffix(strings.TrimSpace(out), "\n1") {
		t.Errorf("wiki markup versions: %s", out)
	}

	must(t, 0, "import", arch, "--to", copyDB)
	must(t, 0, "compare", arch, copyDB)
	// The destination, read back through an archive of its own.
	back := filepath.Join(dir, "back.ferry")
	must(t, 0, "export", "--from", copyDB, "--out", back, "--progress", "never")
	for q, want := range map[string]string{
		`SELECT string_agg(number || ':' || format, ' ' ORDER BY number) FROM page_versions WHERE page_id IN (SELECT id FROM pages WHERE title = 'Home')`:       "1:wiki 2:storage 3:storage",
		`SELECT (SELECT title FROM pages p WHERE p.id = c.parent_id) FROM pages c WHERE title = 'Child'`:                                                        "Home",
		`SELECT string_agg(size::VARCHAR, ' ' ORDER BY size) FROM (SELECT CAST(payload->>'size' AS INT) AS size FROM events WHERE type = 'attachment.version')`: "24 32",
		`SELECT count(*) FROM restrictions`: "2",
	} {
		out, _ := must(t, 0, "inspect", back, "--sql", q, "--format", "csv")
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if got := lines[len(lines)-1]; got != want {
			t.Errorf("%s\n got %q\nwant %q", q, got, want)
		}
	}

	// An XML export has no increments.
	_, errOut := must(t, 1, "export", "--from", "xml:"+export, "--out", filepath.Join(dir, "inc.ferry"), "--since", arch)
	if !strings.Contains(errOut, "snapshot") {
		t.Errorf("--since with an XML export: %s", errOut)
	}
	_, errOut = must(t, 1, "export", "--from", "xml:"+filepath.Join(dir, "nothing.zip"), "--out", filepath.Join(dir, "y.ferry"))
	if !strings.Contains(errOut, "nothing.zip") {
		t.Errorf("missing export: %s", errOut)
	}
}
