package importer

import (
	"encoding/json"
	"errors"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ferry/embedded"
	"ferry/model"
)

// A space ferry creates has exactly the source's permissions and the
// importing account's own: not the destination's defaults (which the
// sandbox, as Cloud, applies to a space created without permissions). If
// anything else is there when content is about to go in, the import stops
// before writing into the space, saying what and what to do; once it is
// removed, a re-run goes on.
func TestCloudSpaceHasOnlyTheSourcesPermissions(t *testing.T) {
	dir := t.TempDir()
	arch := titleClashes(t, dir)
	dest, c := cloudDest(t, 0)
	if err := dest.Update(ctx, time.Now(), "", func(tx *embedded.Tx) error {
		return tx.CreateGroup(model.Group{ID: "g-everyone", Name: "confluence-users"})
	}); err != nil {
		t.Fatal(err)
	}
	journal := filepath.Join(dir, "j.db")
	granted := false
	grant := func(seq int64) error {
		var found struct{ Results []struct{ ID string } }
		if granted || c.Get(ctx, "/wiki/api/v2/spaces", url.Values{"keys": {"TT"}}, &found) != nil || len(found.Results) == 0 {
			return nil
		}
		granted = true // as an admin, or an automation, would between two steps
		return c.Post(ctx, "/wiki/rest/api/space/TT/permission", map[string]any{"subject": map[string]string{"type": "group", "identifier": "g-everyone"},
			"operation": map[string]string{"key": "read", "target": "space"}}, nil)
	}
	_, err := RunCloud(ctx, arch, c, journal, Options{AllowMissingApps: true, BeforeEvent: grant})
	if err == nil || !strings.Contains(err.Error(), "space TT has permissions the source's does not (group g-everyone read:space)") || !strings.Contains(err.Error(), "remove them") {
		t.Fatalf("a grant the source lacks: %v", err)
	}
	if pages := destTitles(t, dest, "page"); len(pages) != 1 || pages[0] != "Titles" {
		t.Errorf("content was written into the space: %v (want only the homepage Cloud made with it)", pages)
	}
	// The defaults were not applied at creation: only the grant made
	// afterwards is foreign.
	var space struct{ Results []struct{ ID string } }
	if err := c.Get(ctx, "/wiki/api/v2/spaces", url.Values{"keys": {"TT"}}, &space); err != nil {
		t.Fatal(err)
	}
	var perms []string
	var foreign string
	c.List(ctx, "/wiki/api/v2/spaces/"+space.Results[0].ID+"/permissions", nil, func(r json.RawMessage) error {
		var p struct {
			ID        string
			Principal struct{ Type, ID string }
			Operation struct{ Key, TargetType string }
		}
		json.Unmarshal(r, &p)
		perms = append(perms, p.Principal.Type+" "+p.Principal.ID+" "+p.Operation.Key+":"+p.Operation.TargetType)
		if p.Principal.ID == "g-everyone" {
			foreign = p.ID
		}
		return nil
	})
	if len(perms) != 3 || foreign == "" {
		t.Errorf("the space's permissions: %v; want the importing account's two and the foreign grant", perms)
	}
	if err := c.Delete(ctx, "/wiki/rest/api/space/TT/permission/"+foreign); err != nil {
		t.Fatal(err)
	}
	rep, err := RunCloud(ctx, arch, c, journal, Options{AllowMissingApps: true})
	if err != nil {
		t.Fatalf("the re-run, the grant removed: %v", err)
	}
	if pages := destTitles(t, dest, "page"); len(pages) < 2 {
		t.Errorf("the re-run wrote no page: %v", pages)
	}
	if !strings.Contains(strings.Join(rep.Notes, "\n"), "space TT: created with exactly the source's permissions") {
		t.Errorf("notes: %q", rep.Notes)
	}
}

// Cloud grants nothing but read space to a user or group that may not read
// the space yet: a grant that comes before its read grant in the archive
// waits for it, one whose read grant never comes is reported, and an
// operation v1 cannot grant is reported; none stops the import.
func TestCloudGrantsReadFirst(t *testing.T) {
	dir := t.TempDir()
	src, err := embedded.Create(filepath.Join(dir, "src.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	at := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	grant := func(tx *embedded.Tx, id, ptype, principal, op string) error {
		return tx.GrantPermission(model.SpacePermission{ID: id, SpaceID: "s1", PrincipalType: ptype, PrincipalID: principal, Operation: op})
	}
	err = src.Update(ctx, at, "u1", func(tx *embedded.Tx) error {
		return errors.Join(
			tx.PutUser(userU1),
			tx.CreateGroup(model.Group{ID: "g1", Name: "readers"}),
			tx.CreateGroup(model.Group{ID: "g2", Name: "admins"}),
			tx.CreateSpace(model.Space{ID: "s1", Key: "RF", Name: "Read first", Type: "global", Status: "current", CreatedAt: at}),
			grant(tx, "p1", "group", "g1", "create:page"), // before its read grant
			grant(tx, "p2", "group", "g1", "read:space"),
			grant(tx, "p3", "group", "g2", "administer:space"), // g2 may not read the space
			grant(tx, "p4", "group", "g1", "purge:space"),      // not one v1 can grant
			tx.CreateContent(model.Content{ID: "c1", Type: "page", SpaceID: "s1", Status: "current", CreatedAt: at, Author: "u1"}),
			tx.AddVersion(model.Version{ContentID: "c1", Number: 1, Title: "A page", Body: "<p>x</p>", Author: "u1", At: at}))
	})
	if err != nil {
		t.Fatal(err)
	}
	arch := exportTo(t, src, filepath.Join(dir, "a.ferry"), "")
	dest, c := cloudDest(t, 0)
	rep, err := RunCloud(ctx, arch, c, filepath.Join(dir, "j.db"), Options{AllowMissingApps: true})
	if err != nil {
		t.Fatal(err)
	}
	got := column(t, dest, `SELECT p.principal_type || ' ' || coalesce(g.name, p.principal_id) || ' ' || p.operation FROM space_permissions p
		LEFT JOIN groups g ON g.id = p.principal_id WHERE p.deleted_rev IS NULL ORDER BY 1`)
	want := "group readers create:page|group readers read:space|user sandbox-caller administer:space|user sandbox-caller read:space"
	if strings.Join(got, "|") != want {
		t.Errorf("grants at the destination:\n %s\nwant\n %s", strings.Join(got, "|"), want)
	}
	if rep.Skipped[noReadReason] != 1 || rep.Skipped["space permission Cloud's API cannot grant (purge:space)"] != 1 {
		t.Errorf("skipped: %v", rep.Skipped)
	}
}
