package importer

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"ferry/embedded"
	"ferry/generate"
	"ferry/sandbox"
)

// grantsBySubject lists a site's space permissions per space key and
// user or group (groups by name; the importing account left out), each
// a sorted list of operations.
func grantsBySubject(t *testing.T, site *embedded.Site) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, row := range column(t, site, `SELECT s.key || ' ' || p.principal_type || ' ' || coalesce(g.name, p.principal_id) || ' ' || p.operation
		FROM space_permissions p JOIN spaces s ON s.id = p.space_id LEFT JOIN groups g ON g.id = p.principal_id AND p.principal_type = 'group'
		WHERE p.deleted_rev IS NULL AND s.deleted_rev IS NULL AND p.principal_type IN ('user', 'group') AND coalesce(p.principal_id, '') != 'sandbox-caller'
		ORDER BY 1`) {
		i := strings.LastIndex(row, " ")
		out[row[:i]] = append(out[row[:i]], row[i+1:])
	}
	return out
}

// Into a site that gives space access through roles: spaces are created
// with the importing account as their only Admin (no default roles), and
// each user and group gets the largest role within its source grants, so
// that nobody can do more than at the source; what a role lacks is
// reported; a re-run without the journal writes nothing; an increment's
// grants and revocations move each principal to the role that then fits.
func TestCloudRoleBasedSite(t *testing.T) {
	dir := t.TempDir()
	src, arch := exportedSite(t, dir, generate.Options{Users: 12, Spaces: 2, Pages: 20, Seed: 6})
	dest, err := embedded.Create(filepath.Join(dir, "dest.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer dest.Close()
	sameAccounts(t, src, dest)
	_, c := serveDest(t, dest, func(h *sandbox.Server) { h.Roles = true })
	var roles []spaceRole
	for _, r := range sandbox.SpaceRoles {
		roles = append(roles, spaceRole{ID: r.ID, Name: r.Name, Perms: r.Perms})
	}
	check := func(when string) {
		t.Helper()
		source, copied := grantsBySubject(t, src), grantsBySubject(t, dest)
		for subject, ops := range copied {
			if !containsAll(source[subject], ops) {
				t.Errorf("%s: %s may do %v at the copy, more than at the source (%v)", when, subject, ops, source[subject])
			}
		}
		for subject, ops := range source {
			role, ok := bestRole(roles, ops)
			if strings.Contains(subject, " anonymous") {
				continue
			}
			if got := copied[subject]; ok && !slices.Equal(got, slices.Sorted(slices.Values(role.Perms))) || !ok && len(got) > 0 {
				t.Errorf("%s: %s has %v at the copy; its source grants %v fit role %q", when, subject, got, ops, role.ID)
			}
		}
	}
	journal := filepath.Join(dir, "j.db")
	rep, err := RunCloud(ctx, arch, c, journal, Options{AllowMissingApps: true})
	if err != nil {
		t.Fatal(err)
	}
	check("the import")
	if rep.Kinds["space_permission"].Created == 0 || !slices.ContainsFunc(rep.Notes, func(n string) bool { return strings.Contains(n, "through roles") }) {
		t.Errorf("roles assigned %+v; notes %v", rep.Kinds["space_permission"], rep.Notes)
	}
	lacks := 0
	for why := range rep.Skipped {
		if strings.Contains(why, "which the role given") {
			lacks++
		}
	}
	if lacks == 0 {
		t.Errorf("no grant reported as beyond the role given: %v", rep.Skipped)
	}
	os.Remove(journal)
	again, err := RunCloud(ctx, arch, c, journal, Options{AllowMissingApps: true})
	if err != nil {
		t.Fatal(err)
	}
	if k := again.Kinds["space_permission"]; k.Created+k.Updated+k.Deleted != 0 {
		t.Errorf("a re-run without the journal assigned roles: %+v", *k)
	}
	// An increment: grants and revocations at the source.
	if err := generate.Evolve(ctx, src, 150, 9); err != nil {
		t.Fatal(err)
	}
	sameAccounts(t, src, dest)
	inc := exportTo(t, src, filepath.Join(dir, "inc.ferry"), arch)
	if _, err := RunCloud(ctx, inc, c, journal, Options{AllowMissingApps: true}); err != nil {
		t.Fatal(err)
	}
	check("the increment")
}
