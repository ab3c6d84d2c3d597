package importer

import (
	"encoding/json"
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
	if pages := destTitles(t, dest, "page"); len(pages) != 0 {
		t.Errorf("content was written into the space: %v", pages)
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
	if pages := destTitles(t, dest, "page"); len(pages) == 0 {
		t.Error("the re-run wrote no page")
	}
	if !strings.Contains(strings.Join(rep.Notes, "\n"), "space TT: created with exactly the source's permissions") {
		t.Errorf("notes: %q", rep.Notes)
	}
}
