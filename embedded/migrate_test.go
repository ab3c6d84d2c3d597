package embedded

import (
	"context"
	"encoding/json"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ferry/model"
)

// siteAtSchema creates a site as a ferry of that schema version made it.
func siteAtSchema(t *testing.T, path string, version int) *Site {
	t.Helper()
	all := migrations
	migrations = all[:version]
	s, err := Create(path)
	migrations = all
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func oneSpace(at time.Time) model.Space {
	return model.Space{ID: "s1", Key: "ENG", Name: "Engineering", Type: "global", Status: "current", CreatedAt: at,
		Categories: []string{}, Settings: map[string]string{}, LookAndFeel: map[string]string{}, Templates: []model.Template{}}
}

// A site made before folders (schema 5) opens with this ferry: content is
// rebuilt to take folders, with its rows, their rowids (the sandbox's
// Cloud ids) and what refers to them intact.
func TestSiteBeforeFoldersMigrates(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	s := siteAtSchema(t, path, 5)
	at := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	err := s.Update(ctx, at, "", func(tx *Tx) error {
		if err := tx.CreateSpace(oneSpace(at)); err != nil {
			return err
		}
		for _, c := range []model.Content{{ID: "p1", Type: "page", SpaceID: "s1", Status: "current", CreatedAt: at},
			{ID: "p2", Type: "page", SpaceID: "s1", ParentID: "p1", Status: "current", CreatedAt: at}} {
			if err := tx.CreateContent(c); err != nil {
				return err
			}
			if err := tx.AddVersion(model.Version{ContentID: c.ID, Number: 1, Title: "Page " + c.ID, Body: "<p/>", At: at}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var before string
	s.DB().QueryRow(`SELECT group_concat(rowid || ':' || id) FROM content`).Scan(&before)
	err = s.Update(ctx, at, "", func(tx *Tx) error {
		return tx.CreateContent(model.Content{ID: "f1", Type: "folder", SpaceID: "s1", Status: "current", CreatedAt: at})
	})
	if err == nil {
		t.Fatal("schema 5 took a folder")
	}
	s.Close()

	s, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var version, broken int
	var after string
	s.DB().QueryRow(`PRAGMA user_version`).Scan(&version)
	s.DB().QueryRow(`SELECT group_concat(rowid || ':' || id) FROM content`).Scan(&after)
	s.DB().QueryRow(`SELECT count(*) FROM pragma_foreign_key_check`).Scan(&broken)
	if version != len(migrations) || after != before || broken != 0 {
		t.Errorf("schema %d, content %s (was %s), %d broken references", version, after, before, broken)
	}
	err = s.Update(ctx, at, "", func(tx *Tx) error {
		if err := tx.CreateContent(model.Content{ID: "f1", Type: "folder", SpaceID: "s1", ParentID: "p1", Status: "current", CreatedAt: at}); err != nil {
			return err
		}
		return tx.MoveContent("p2", "f1", 0)
	})
	if err != nil {
		t.Fatalf("a folder in the migrated site: %v", err)
	}
	// Foreign keys are on again: a page under a folder that is not there
	// is refused.
	err = s.Update(ctx, at, "", func(tx *Tx) error {
		return tx.CreateContent(model.Content{ID: "p3", Type: "page", SpaceID: "s1", ParentID: "nowhere", Status: "current", CreatedAt: at})
	})
	if err == nil {
		t.Error("foreign keys are off after the migration")
	}
}

// A site from before schema 7 keeps every body and blob byte when its
// version and blob tables are rebuilt as rowid tables: its changes read the
// same before and after, and no table of large rows is WITHOUT ROWID.
func TestSiteBeforeRowidBodiesMigrates(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	s := siteAtSchema(t, path, 6)
	at := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	big := strings.Repeat("<p>a body well past a page's limit for WITHOUT ROWID rows</p>", 300)
	var digest string
	err := s.Update(ctx, at, "", func(tx *Tx) error {
		if err := tx.CreateSpace(oneSpace(at)); err != nil {
			return err
		}
		if err := tx.CreateContent(model.Content{ID: "p1", Type: "page", SpaceID: "s1", Status: "current", CreatedAt: at}); err != nil {
			return err
		}
		for n, body := range []string{"<p/>", big} {
			if err := tx.AddVersion(model.Version{ContentID: "p1", Number: n + 1, Title: "Page", Body: body, At: at, Format: "storage"}); err != nil {
				return err
			}
		}
		if err := tx.CreateComment(model.Comment{ID: "c1", ContainerID: "p1", Location: "footer", Status: "current", CreatedAt: at}); err != nil {
			return err
		}
		if err := tx.AddCommentVersion(model.Version{ContentID: "c1", Number: 1, Body: big, At: at}); err != nil {
			return err
		}
		var err error
		digest, err = tx.PutBlob([]byte(strings.Repeat("attachment bytes ", 5000)))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	read := func(s *Site) string {
		var b strings.Builder
		if _, err := s.Changes(ctx, 0, nil, func(c *model.Change) error {
			j, err := json.Marshal(c)
			b.Write(j)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		r, _, err := s.OpenBlob(ctx, digest)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		data, _ := io.ReadAll(r)
		b.Write(data)
		return b.String()
	}
	before := read(s)
	s.Close()

	s, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if after := read(s); after != before {
		t.Errorf("the site reads differently after the migration:\n%.300s\nwas\n%.300s", after, before)
	}
	if n := strings.Count(before, "well past a page's limit"); n != 600 {
		t.Errorf("the big bodies read %d times of 600 in what the site reads", n)
	}
	var version, withoutRowid int
	s.DB().QueryRow(`PRAGMA user_version`).Scan(&version)
	s.DB().QueryRow(`SELECT count(*) FROM sqlite_schema WHERE name IN ('blob_chunks', 'content_versions', 'comment_versions') AND sql LIKE '%WITHOUT ROWID%'`).Scan(&withoutRowid)
	if version != len(migrations) || withoutRowid != 0 {
		t.Errorf("schema %d, %d of the big-row tables still WITHOUT ROWID", version, withoutRowid)
	}
}
