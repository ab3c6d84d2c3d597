package confluencexml

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// An export in which each kind of damage real exports carry occurs once
// (testdata/damaged: control characters raw in a title and a body, as a
// reference, a byte that is not UTF-8, an object twice, an attachment in
// Confluence 4.x's form, a date in no known form, a comment on a page the
// export lacks, an attachment whose file is missing) converts: everything
// else is there, and each damage is reported once, naming the object and
// its line, what was wrong, and what it means for the copy.
func TestEachDamageReportedOnce(t *testing.T) {
	site, rep := load(t, "testdata/damaged")
	var titles []string
	rows, err := site.DB().Query(`SELECT v.title FROM content c JOIN content_versions v ON v.content_id = c.id ORDER BY c.id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var s string
		rows.Scan(&s)
		titles = append(titles, s)
	}
	rows.Close()
	want := []string{"Home\uFFFD page", "Notes \uFFFDtwo", "Caf\uFFFD notes", "Minutes", "Undated"}
	if !slices.Equal(titles, want) {
		t.Errorf("titles %q, want %q", titles, want)
	}
	var body string
	site.DB().QueryRow(`SELECT body FROM content_versions WHERE content_id = '200'`).Scan(&body)
	if body != "<p>Start\uFFFD here.</p>" {
		t.Errorf("body %q", body)
	}
	var blob int
	site.DB().QueryRow(`SELECT count(*) FROM attachment_versions v JOIN attachments a ON a.id = v.attachment_id WHERE a.filename = 'notes.txt'`).Scan(&blob)
	if blob != 1 {
		t.Errorf("%d versions of the 4.x attachment, want 1", blob)
	}
	got := map[string]string{}
	for _, s := range rep.Skipped {
		key := s.Class + " " + s.ID
		if _, twice := got[key]; twice {
			t.Errorf("%s reported twice: %s", key, s.Reason)
		}
		got[key] = fmt.Sprintf("line %d: %s (%s)", s.Line, s.Reason, s.Detail)
	}
	// Where each object starts in the fixture (a twin has two lines).
	data, err := os.ReadFile("testdata/damaged/entities.xml")
	if err != nil {
		t.Fatal(err)
	}
	at := map[string][]int{}
	class := ""
	for i, l := range strings.Split(string(data), "\n") {
		if c, ok := strings.CutPrefix(strings.TrimSpace(l), `<object class="`); ok {
			class, _, _ = strings.Cut(c, `"`)
			at[class] = append(at[class], i+1)
		}
		if id, ok := strings.CutPrefix(strings.TrimSpace(l), `<id name="id">`); ok && class != "" {
			id, _, _ = strings.Cut(id, "<")
			at[class+" "+id] = append(at[class+" "+id], at[class][len(at[class])-1])
			class = ""
		}
	}
	line := func(key string, n int) string { return fmt.Sprintf("line %d:", at[key][n]) }
	for key, says := range map[string][]string{
		"Page 200":               {line("Page 200", 0), "U+0008", "replaced by U+FFFD"},
		"BodyContent 220":        {line("BodyContent 220", 0), "U+0002"},
		"Page 201":               {line("Page 201", 0), "U+0008"},
		"Page 202":               {line("Page 202", 0), "not UTF-8"},
		"Page 203":               {line("Page 203", 1), fmt.Sprintf("the first is used (the first is at line %d)", at["Page 203"][0])},
		"Page 204":               {line("Page 204", 0), "a date ferry cannot read", `creationDate "31/12/2023 noon"`},
		"Comment 400":            {line("Comment 400", 0), "on content ferry does not copy or the export lacks", "on Page 999"},
		"Attachment.version 301": {line("Attachment 301", 0), "the export lacks the version's file", "attachments/200/301/1"},
	} {
		for _, s := range says {
			if !strings.Contains(got[key], s) {
				t.Errorf("%s: reported %q, want it to say %q", key, got[key], s)
			}
		}
		delete(got, key)
	}
	if len(got) != 0 {
		t.Errorf("reported besides: %v", got)
	}
}

// The older forms of the XML backup (testdata/older: users only in
// Crowd's tables, HibernateMembership, history by originalVersion, wiki
// markup, fileName and attachmentVersion, a macro's CDATA written "]] >")
// convert whole, with nothing reported.
func TestOlderFormsConvert(t *testing.T) {
	site, rep := load(t, "testdata/older")
	if len(rep.Skipped) != 0 {
		t.Errorf("reported: %+v", rep.Skipped)
	}
	one := func(q string) string {
		t.Helper()
		var s string
		if err := site.DB().QueryRow(q).Scan(&s); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return s
	}
	for q, want := range map[string]string{
		`SELECT email || ' ' || display_name FROM users`: "carol@example.com Carol Writer",
		`SELECT g.name || ' ' || u.email FROM memberships m JOIN groups g ON g.id = m.group_id JOIN users u ON u.account_id = m.account_id`:                     "writers carol@example.com",
		`SELECT group_concat(number || ':' || coalesce(nullif(format, ''), 'storage'), ',') FROM (SELECT number, format FROM content_versions ORDER BY number)`: "1:wiki,2:storage",
		`SELECT body FROM content_versions WHERE number = 2`:                                                                         `<p>Restart with care:</p><ac:structured-macro ac:name="code"><ac:plain-text-body><![CDATA[service restart]]></ac:plain-text-body></ac:structured-macro>`,
		`SELECT a.filename || ' ' || count(*) FROM attachments a JOIN attachment_versions v ON v.attachment_id = a.id GROUP BY a.id`: "draft.txt 2",
		`SELECT count(DISTINCT author) || ' ' || max(author) FROM content_versions`:                                                  "1 " + one(`SELECT account_id FROM users`),
	} {
		if got := one(q); got != want {
			t.Errorf("%s: %q, want %q", q, got, want)
		}
	}
}

// A zipped export whose one attachment file is damaged (its compressed
// bytes flipped) converts: that version is reported and left out, the
// rest is there.
func TestDamagedZipMemberLosesOnlyItsVersion(t *testing.T) {
	entities, err := os.ReadFile("testdata/older/entities.xml")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	member := func(name string, data []byte) {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
	}
	member("entities.xml", entities)
	member("attachments/200/300/1", []byte("first draft\n"))
	payload := bytes.Repeat([]byte("second draft, long enough to be compressed with a checksum to break. "), 50)
	member("attachments/200/300/2", payload)
	zw.Close()
	data := buf.Bytes()
	// Damage the last member's compressed bytes, not its header.
	at := bytes.Index(data, []byte("attachments/200/300/2")) + len("attachments/200/300/2") + 20
	data[at] ^= 0xff
	data[at+1] ^= 0xff
	path := filepath.Join(t.TempDir(), "export.zip")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	site, rep := load(t, path)
	var versions int
	site.DB().QueryRow(`SELECT count(*) FROM attachment_versions`).Scan(&versions)
	var reported []string
	for _, s := range rep.Skipped {
		reported = append(reported, s.Class+" "+s.ID+": "+s.Reason)
	}
	if versions != 1 || len(reported) != 1 || !strings.Contains(reported[0], "cannot be read from the export") {
		t.Errorf("%d attachment versions (want 1); reported %v", versions, reported)
	}
}

// What gosax lets through, the decoder refuses, with a position: a tag
// closing another, an attribute without its closing quote (which runs to
// the end of the file), a malformed attribute, a file ending inside an
// element, an entity XML does not define.
func TestDecoderRefusesWhatGosaxLetsThrough(t *testing.T) {
	for name, c := range map[string]struct{ xml, want string }{
		"crossed":  {`<hibernate-generic><object class="Page"><id name="id">1</property></object></hibernate-generic>`, "not well formed"},
		"quote":    {`<hibernate-generic><object class="Page><id name="id">1</id></object></hibernate-generic>`, "ends in the middle"},
		"attr":     {`<hibernate-generic><object =x><id name="id">1</id></object></hibernate-generic>`, "malformed tag"},
		"cut off":  {`<hibernate-generic><object class="Page"><id name="id">1</id>`, "ends in the middle"},
		"entity":   {`<hibernate-generic><object class="Page"><id name="id">1</id><property name="title">a &nbsp; b</property></object></hibernate-generic>`, "escape"},
		"two tops": {`<hibernate-generic></hibernate-generic></object>`, "not well formed"},
	} {
		err := Parse(strings.NewReader(c.xml), func(*Object) error { return nil })
		var pe *ParseError
		if !errors.As(err, &pe) || pe.Line == 0 || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want a ParseError saying %q", name, err, c.want)
		}
	}
}
