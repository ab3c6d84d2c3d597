package generate

import (
	"context"
	"path/filepath"
	"testing"

	"ferry/embedded"
)

// TestGeneratedSitesHaveRealisticShapes checks what the generator promises.
func TestGeneratedSitesHaveRealisticShapes(t *testing.T) {
	ctx := context.Background()
	site, err := embedded.Create(filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer site.Close()
	if err := Site(ctx, site, Options{Users: 200, Spaces: 20, Pages: 1500, AttachmentBytes: 4 << 20, Seed: 3}); err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		what  string
		query string
		min   int
	}{
		{"page trees at least 4 levels deep", `WITH RECURSIVE d(id, depth) AS (SELECT id, 1 FROM content WHERE parent_id IS NULL AND type = 'page'
			UNION ALL SELECT c.id, d.depth + 1 FROM content c JOIN d ON c.parent_id = d.id) SELECT max(depth) FROM d`, 4},
		{"pages with several versions", `SELECT count(*) FROM (SELECT content_id FROM content_versions GROUP BY 1 HAVING count(*) >= 3)`, 50},
		{"a space 5 times the median's size", `SELECT max(n) / (SELECT n FROM (SELECT count(*) n FROM content GROUP BY space_id ORDER BY n) LIMIT 1 OFFSET 10)
			FROM (SELECT count(*) n FROM content GROUP BY space_id)`, 5},
		{"personal spaces", `SELECT count(*) FROM spaces WHERE type = 'personal'`, 1},
		{"archived spaces", `SELECT count(*) FROM spaces WHERE status = 'archived'`, 1},
		{"trashed pages", `SELECT count(*) FROM content WHERE status = 'trashed'`, 10},
		{"replies in comment threads", `SELECT count(*) FROM comments WHERE parent_id IS NOT NULL`, 5},
		{"inline comments with anchors", `SELECT count(*) FROM comments WHERE location = 'inline' AND anchor IS NOT NULL`, 5},
		{"attachments sharing content", `SELECT count(*) FROM (SELECT blob FROM attachment_versions GROUP BY blob HAVING count(*) > 1)`, 3},
		{"attachment versions", `SELECT count(*) FROM attachment_versions WHERE number > 1`, 3},
		{"unicode titles", `SELECT count(*) FROM content_versions WHERE title GLOB '*[^ -~]*'`, 100},
		{"links to pages in bodies", `SELECT count(*) FROM content_versions WHERE body LIKE '%<ri:page %'`, 100},
		{"user mentions in bodies", `SELECT count(*) FROM content_versions WHERE body LIKE '%<ri:user %'`, 100},
		{"embedded attachments in bodies", `SELECT count(*) FROM content_versions WHERE body LIKE '%<ri:attachment %'`, 10},
		{"restrictions", `SELECT count(*) FROM restrictions`, 4},
		{"user and group permissions", `SELECT count(DISTINCT principal_type) FROM space_permissions`, 2},
		{"apps with app data", `SELECT count(*) FROM app_data`, 1},
		{"emails differing only in case", `SELECT count(*) FROM (SELECT lower(email) FROM users WHERE email IS NOT NULL GROUP BY 1 HAVING count(DISTINCT email) > 1)`, 2},
		{"inactive or deleted users", `SELECT count(*) FROM users WHERE status != 'active'`, 5},
	}
	for _, c := range checks {
		var n int
		if err := site.DB().QueryRow(c.query).Scan(&n); err != nil {
			t.Fatalf("%s: %v", c.what, err)
		}
		if n < c.min {
			t.Errorf("%s: %d, want at least %d", c.what, n, c.min)
		}
	}
}

func TestEvolveNeedsAGeneratedSite(t *testing.T) {
	site, err := embedded.Create(filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer site.Close()
	if err := Evolve(context.Background(), site, 10, 1); err == nil {
		t.Fatal("evolving an empty site succeeded")
	}
}
