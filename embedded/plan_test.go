package embedded

import (
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
		rows, err := s.DB().Query("EXPLAIN QUERY PLAN "+q, "SPACE", 0)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			rows.Scan(&id, &parent, &unused, &detail)
			plan = append(plan, detail)
		}
		rows.Close()
		all := strings.Join(plan, "\n")
		if strings.Contains(all, "AUTOMATIC") || !strings.Contains(all, "content_by_space") || strings.Count(all, "_by_parent (parent_id=?)") != 1 {
			t.Errorf("%s: the tree query's plan should start at content_by_space and step down by parent with an index:\n%s", name, all)
		}
	}
}
