package confluencexml

import (
	"fmt"
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
	for key, says := range map[string][]string{
		"Page 200":               {"line 23:", "U+0008", "replaced by U+FFFD"},
		"BodyContent 220":        {"line 30:", "U+0002"},
		"Page 201":               {"line 36:", "U+0008"},
		"Page 202":               {"line 44:", "not UTF-8"},
		"Page 203":               {"line 60:", "the first is used (the first is at line 52)"},
		"Page 204":               {"line 77:", "a date ferry cannot read", `creationDate "31/12/2023 noon"`},
		"Comment 400":            {"line 85:", "on content ferry does not copy or the export lacks", "on Page 999"},
		"Attachment.version 301": {"line 91:", "the export lacks the version's file", "attachments/200/301/1"},
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
