package embedded

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
)

// Exports walk each space's page and comment trees. Each walk must start
// at that space's rows and follow an index down: a temporary index, or a
// start at every top-level row of the site, makes an export grow with
// spaces × rows (it did, through comments: 288 s at 400,000 pages).
func TestTreeQueriesStayInTheirSpace(t *testing.T) {
	s, err := Create(filepath.Join(t.TempDir(), "site.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for name, q := range map[string]string{
		"pages":    pageTree + `SELECT id FROM tree`,
		"comments": commentTree + `SELECT id FROM tree`,
	} {
		all := queryPlan(t, s.DB().Query, q, "SPACE", 0)
		if strings.Contains(all, "AUTOMATIC") || !strings.Contains(all, "content_by_space") || strings.Count(all, "_by_parent (parent_id=?)") != 1 {
			t.Errorf("%s: the tree query's plan should start at content_by_space and step down by parent with an index:\n%s", name, all)
		}
	}
}

// An export sorts each space's ids, not its bodies: the ids go into
// export_order by walking the tree from its top (never by scanning the
// site's content for each space), and the bodies are read by walking
// export_order in rowid order with their versions by index, which needs
// no sort. A sort there would spill every body of a big space to
// temporary files again.
func TestBodiesAreReadWithoutASort(t *testing.T) {
	s, err := Create(filepath.Join(t.TempDir(), "site.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	conn, err := s.DB().Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	r := &reader{conn: conn, ctx: ctx}
	if err := r.order(blogpostsOrder, "SPACE"); err != nil {
		t.Fatal(err)
	}
	plan := func(q string, args ...any) string {
		return queryPlan(t, func(q string, args ...any) (*sql.Rows, error) { return conn.QueryContext(ctx, q, args...) }, q, args...)
	}
	for name, q := range map[string]string{"pages": pagesOrder, "comments": commentsOrder} {
		p := plan(q, "SPACE")
		if !strings.Contains(p, "SCAN tree") || strings.Contains(p, "AUTOMATIC") || strings.Contains(p, "BLOOM") {
			t.Errorf("%s: the order should walk the tree and look each row up by id:\n%s", name, p)
		}
	}
	for name, q := range map[string]string{"content": contentInOrder, "comments": commentsInOrder} {
		p := plan(q, 0)
		if !strings.HasPrefix(p, "SCAN o") || strings.Contains(p, "TEMP B-TREE") {
			t.Errorf("%s: bodies should be read in export_order's order, with no sort:\n%s", name, p)
		}
	}
}

// queryPlan returns SQLite's plan for q, a step a line, as query runs it.
func queryPlan(t *testing.T, query func(string, ...any) (*sql.Rows, error), q string, args ...any) string {
	t.Helper()
	rows, err := query("EXPLAIN QUERY PLAN "+q, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var steps []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		steps = append(steps, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return strings.Join(steps, "\n")
}
