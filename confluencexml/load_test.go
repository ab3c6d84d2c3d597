package confluencexml

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"ferry/embedded"
	"ferry/internal/shared"
)

var ctx = context.Background()

func load(t *testing.T, path string) (*embedded.Site, *Report) {
	t.Helper()
	dir := t.TempDir()
	site, err := embedded.Create(filepath.Join(dir, "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { site.Close() })
	rep, err := Load(ctx, path, site, dir)
	if err != nil {
		t.Fatal(err)
	}
	return site, rep
}

// counts are the live entities of a site, per kind, as the test tables
// name them.
func counts(t *testing.T, site *embedded.Site) map[string]int {
	t.Helper()
	out := map[string]int{}
	for kind, q := range map[string]string{
		"users":         `SELECT count(*) FROM users`,
		"groups":        `SELECT count(*) FROM groups WHERE deleted_rev IS NULL`,
		"memberships":   `SELECT count(*) FROM memberships WHERE deleted_rev IS NULL`,
		"spaces":        `SELECT count(*) FROM spaces WHERE deleted_rev IS NULL`,
		"permissions":   `SELECT count(*) FROM space_permissions WHERE deleted_rev IS NULL`,
		"pages":         `SELECT count(*) FROM content WHERE type = 'page'`,
		"page_versions": `SELECT count(*) FROM content_versions v JOIN content c ON c.id = v.content_id WHERE c.type = 'page'`,
		"blogposts":     `SELECT count(*) FROM content WHERE type = 'blogpost'`,
		"comments":      `SELECT count(*) FROM comments`,
		"attachments":   `SELECT count(*) FROM attachments`,
		"att_versions":  `SELECT count(*) FROM attachment_versions`,
		"labels":        `SELECT count(*) FROM labels WHERE deleted_rev IS NULL`,
		"restrictions":  `SELECT count(*) FROM restrictions WHERE deleted_rev IS NULL`,
	} {
		var n int
		if err := site.DB().QueryRow(q).Scan(&n); err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		if n > 0 {
			out[kind] = n
		}
	}
	return out
}

func skippedByClass(rep *Report) map[string]int64 {
	out := map[string]int64{}
	for _, s := range rep.Skipped {
		out[s.Class] += s.Objects
	}
	return out
}

var fixtures = shared.Path("fixtures/confluence-xml")

// The real exports: what each holds, read from its entities.xml by hand
// (the comments say how), against what the conversion makes of it.
func TestRealExports(t *testing.T) {
	if _, err := os.Stat(fixtures); err != nil {
		t.Skipf("the shared fixtures are absent (%v): the real exports cannot be checked", err)
	}
	for _, c := range []struct {
		name    string
		want    map[string]int
		skipped map[string]int64
	}{
		// Two spaces; pages 0 and 1 in SpaceA under a parent (42) the
		// export lacks, page 10 SpaceB's home page. No bodies: one version
		// each, from the page object itself.
		{"pages", map[string]int{"spaces": 2, "pages": 3, "page_versions": 3}, map[string]int64{"Page.parent": 2}},
		// One space, two pages (each one version), one user record.
		{"spaces", map[string]int{"users": 1, "spaces": 1, "pages": 2, "page_versions": 2}, map[string]int64{}},
		// A ConfluenceUserImpl matched to its directory user by name, and
		// a second directory user; a page under a missing parent with a
		// comment that names it as owner.
		{"users", map[string]int{"users": 2, "spaces": 1, "pages": 1, "page_versions": 1, "comments": 1}, map[string]int64{"Page.parent": 1}},
		// Two directory groups.
		{"groupIds", map[string]int{"groups": 2, "spaces": 1, "pages": 1, "page_versions": 1}, map[string]int64{}},
		// Page 95917606 (version 43) with historical versions 41 and 42.
		{"history", map[string]int{"spaces": 1, "pages": 1, "page_versions": 3}, map[string]int64{"Page.parent": 1}},
		// The home page, and "Page with attachment" in versions 1..3 plus
		// an unpublished draft. Attachments: 948830209 (versions 1..3) and
		// 948043783 live, 948502544 in the trash, 948471659 on the space
		// description; the export has no attachment files (4 versions).
		{"attachhist", map[string]int{"spaces": 1, "pages": 2, "page_versions": 4, "attachments": 2},
			map[string]int64{"Page.draft": 1, "Attachment": 2, "Attachment.version": 4}},
		// One blog post with a draft, a home page, five user records, 90
		// space permissions of which 4 name users not in the export (86
		// kept; their 3 groups are created by name), 2 restrictions for a
		// user not in the export, and app content (CustomContentEntityObject,
		// OutgoingLink) ferry does not map.
		{"blogs", map[string]int{"users": 5, "groups": 3, "spaces": 1, "permissions": 86, "pages": 1, "page_versions": 1, "blogposts": 1},
			map[string]int64{"BlogPost.draft": 1, "SpacePermission": 4, "ContentPermission": 2, "Attachment": 1,
				"CustomContentEntityObject": 3, "OutgoingLink": 4}},
		// Confluence 8.5.6: four users, 53 space permissions (two groups by
		// name), three pages each with a draft, 11 attachments without
		// files, a comment on a page and one on an attachment, a label on a
		// page and one on the space description, five restrictions.
		{"confluence8.5.6", map[string]int{"users": 4, "groups": 2, "spaces": 1, "permissions": 53, "pages": 3, "page_versions": 3,
			"comments": 1, "attachments": 11, "labels": 1, "restrictions": 5},
			map[string]int64{"Page.draft": 3, "Attachment.version": 11, "Comment": 1, "Labelling": 1, "OutgoingLink": 22,
				"Notification": 3, "ConfluenceBandanaRecord": 1, "BucketPropertySetItem": 1, "User2ContentRelationEntity": 4}},
	} {
		t.Run(c.name, func(t *testing.T) {
			site, rep := load(t, filepath.Join(fixtures, c.name))
			if got := counts(t, site); !reflect.DeepEqual(got, c.want) {
				t.Errorf("made\n %v\nwant\n %v", got, c.want)
			}
			got := skippedByClass(rep)
			for class, n := range c.skipped {
				if got[class] != n {
					t.Errorf("%s: %d not copied, want %d (all: %v)", class, got[class], n, got)
				}
			}
			// Every class of the export is either read or listed as not copied.
			for class := range rep.Objects {
				if mapped[class] == "" && got[class] != rep.Objects[class] {
					t.Errorf("class %s (%d objects) is neither mapped nor listed as not copied", class, rep.Objects[class])
				}
			}
		})
	}
}

// The project's own export: a tree whose children come first, history
// with wiki markup and a draft, attachment versions with their bytes, a
// reply, restrictions, labels, and references that lead nowhere.
func TestOwnExport(t *testing.T) {
	site, rep := load(t, "testdata/small")
	want := map[string]int{"users": 2, "groups": 1, "memberships": 1, "spaces": 1, "permissions": 2, "pages": 3, "page_versions": 5,
		"comments": 2, "attachments": 2, "att_versions": 2, "labels": 1, "restrictions": 2}
	if got := counts(t, site); !reflect.DeepEqual(got, want) {
		t.Errorf("made\n %v\nwant\n %v", got, want)
	}
	q := func(query string) string {
		var s string
		if err := site.DB().QueryRow(query).Scan(&s); err != nil {
			t.Fatalf("%s: %v", query, err)
		}
		return s
	}
	checks := map[string]string{
		`SELECT group_concat(number || ':' || title || ':' || coalesce(format, 'storage') || ':' || coalesce(author, ''), ' ') FROM
			(SELECT * FROM content_versions WHERE content_id = '200' ORDER BY number)`: "1:Start:wiki:key-ada 2:Home:storage:key-ada 3:Home:storage:key-bob",
		`SELECT parent_id FROM content WHERE id = '202'`:                                                                            "200",
		`SELECT coalesce(parent_id, 'root') FROM content WHERE id = '203'`:                                                          "root",
		`SELECT homepage FROM spaces WHERE id = '100'`:                                                                              "200",
		`SELECT description FROM spaces WHERE id = '100'`:                                                                           "Where engineers write things down.",
		`SELECT parent_id FROM comments WHERE id = '401'`:                                                                           "400",
		`SELECT group_concat(size, ' ') FROM (SELECT size FROM attachment_versions WHERE attachment_id = '300' ORDER BY number)`:    "24 32",
		`SELECT display_name || ' ' || status || ' ' || email FROM users WHERE account_id = 'key-bob'`:                              "Bob Builder inactive bob@example.com",
		`SELECT group_concat(principal_type || ':' || principal_id, ' ') FROM (SELECT * FROM restrictions ORDER BY principal_type)`: "group:7001 user:key-ada",
	}
	for query, want := range checks {
		if got := q(query); got != want {
			t.Errorf("%s\n got %q\nwant %q", query, got, want)
		}
	}
	if rep.Wiki != 1 {
		t.Errorf("%d wiki markup versions, want 1", rep.Wiki)
	}
	if got, want := skippedByClass(rep), map[string]int64{"Page.draft": 1, "Page.parent": 1, "Comment": 1, "Attachment.version": 1, "OutgoingLink": 2}; !reflect.DeepEqual(got, want) {
		t.Errorf("not copied %v, want %v", got, want)
	}
}

// Damaged and hostile exports get an error that names the place, and
// never a crash or a read outside the export.
func TestBadExports(t *testing.T) {
	small, err := os.ReadFile("testdata/small/entities.xml")
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct {
		data string
		want string
	}{
		"truncated":  {string(small[:len(small)/2]), "truncated"},
		"not xml":    {"PK\x03\x04 this is a zip, not XML", "line 1"},
		"other root": {`<?xml version="1.0"?><html><body/></html>`, "not a Confluence entities.xml"},
		"entities": {`<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]>
			<hibernate-generic><object class="Space"><id name="id">1</id><property name="name">&b;</property></object></hibernate-generic>`, "entity"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "entities.xml")
			os.WriteFile(path, []byte(c.data), 0o644)
			site, err := embedded.Create(filepath.Join(dir, "s.db"))
			if err != nil {
				t.Fatal(err)
			}
			defer site.Close()
			_, err = Load(ctx, path, site, dir)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want one saying %q", err, c.want)
			}
		})
	}
	// An absurdly large property is refused, naming the object.
	defer func(old int) { maxText = old }(maxText)
	maxText = 1 << 10
	big := `<hibernate-generic><object class="BodyContent"><id name="id">77</id><property name="body">` + strings.Repeat("x", 2000) + `</property></object></hibernate-generic>`
	if err := Parse(strings.NewReader(big), func(*Object) error { return nil }); err == nil || !strings.Contains(err.Error(), "BodyContent 77") || !strings.Contains(err.Error(), "over") {
		t.Errorf("oversize property: %v", err)
	}
	maxText = 256 << 20
	// A truncated export names where it stops.
	var pe *ParseError
	err = Parse(strings.NewReader(string(small[:len(small)/2])), func(*Object) error { return nil })
	if !errors.As(err, &pe) || pe.Line == 0 {
		t.Errorf("truncated: %v", err)
	}
}

func FuzzParse(f *testing.F) {
	// Short seeds: the fuzzer minimizes what it finds, which is slow on
	// inputs of many kilobytes.
	f.Add([]byte(`<?xml version="1.0"?><hibernate-generic><object class="Space"><id name="id">1</id><property name="key"><![CDATA[K]]></property></object></hibernate-generic>`))
	f.Add([]byte(`<hibernate-generic><object class="Page"><id name="id">1</id><collection name="c"><element class="X"><id>2</id></element></collection></object></hibernate-generic>`))
	// Damage real exports carry (testdata/damaged): control characters raw
	// and as references, a byte that is not UTF-8, an object twice.
	f.Add([]byte("<hibernate-generic><!-- &#8; --><object class=\"Page\"><id name=\"id\">1</id><property name=\"title\"><![CDATA[a\x08b\xe9]]></property><property name=\"t\">x &#2;&#x1F600; y</property></object><object class=\"Page\"><id name=\"id\">1</id></object></hibernate-generic>"))
	// And every fixture of the project's, whole (testdata/*/entities.xml).
	fixtures, _ := filepath.Glob("testdata/*/entities.xml")
	for _, p := range fixtures {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		timer := time.AfterFunc(10*time.Second, func() { panic(fmt.Sprintf("input parsed for over 10 s: %q", data)) })
		defer timer.Stop()
		n := 0
		err := Parse(strings.NewReader(string(data)), func(o *Object) error {
			n++
			if len(o.Props) > 1<<20 {
				return fmt.Errorf("absurd")
			}
			return nil
		})
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("an error without a position: %v", err)
			}
		}
	})
}
