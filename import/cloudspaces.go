package importer

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"ferry/model"
)

// A space created without permissions gets the destination's default
// space permissions, on top of which the source's would be granted: a
// space three people could read would be readable by everyone with the
// default grant (v1 SpaceCreate.permissions: "If no permissions are
// provided, the Confluence default space permissions are applied"). So
// ferry creates each space with an explicit set, the importing account's
// own read and administer (it must go on writing), adds the source's
// grants as the archive gives them, and, before any content goes in,
// reads the space's permissions back: anything else there stops the
// import.

// ownSpaceGrants are the importing account's grants on a space it creates.
var ownSpaceGrants = []string{"read:space", "administer:space"}

// account is the importing account's id.
func (ci *cloudImport) account() (string, error) {
	if ci.me != "" {
		return ci.me, nil
	}
	var me struct{ AccountID string }
	if err := ci.c.Get(ci.ctx, "/wiki/rest/api/user/current", nil, &me); err != nil {
		return "", fmt.Errorf("who the importing account is: %w", err)
	}
	if me.AccountID == "" {
		return "", fmt.Errorf("who the importing account is: the site names no account id")
	}
	ci.me = me.AccountID
	return ci.me, nil
}

// spacePermissions is the permissions field of a space create request:
// the importing account's own grants, and no default ones.
func (ci *cloudImport) spacePermissions() ([]any, error) {
	me, err := ci.account()
	if err != nil {
		return nil, err
	}
	var out []any
	for _, g := range ownSpaceGrants {
		op, target, _ := strings.Cut(g, ":")
		out = append(out, map[string]any{
			"subjects":        map[string]any{"user": map[string]any{"results": []any{map[string]string{"accountId": me}}, "size": 1}},
			"operation":       map[string]string{"operation": op, "targetType": target},
			"anonymousAccess": false, "unlicensedAccess": false})
	}
	return out, nil
}

// checkSpace reads back the permissions of a space ferry created, once,
// before the first content is written into it, and stops if they are not
// the source's (those granted so far) and the importing account's own.
func (ci *cloudImport) checkSpace(key string) error {
	source, ok := ci.spaceIDs[strings.ToUpper(key)]
	if !ok { // created by an earlier run, which this one resumes
		for id, k := range ci.j.all(ci.site, "space-key") {
			ci.spaceIDs[strings.ToUpper(k)] = id
		}
		source, ok = ci.spaceIDs[strings.ToUpper(key)]
	}
	if !ok || ci.checked[source] || ci.o.DryRun { // a rehearsal writes no permissions to read back
		return nil
	}
	ci.checked[source] = true
	if _, done := ci.j.lookup(ci.site, "space-checked", source); done {
		return nil
	}
	if _, created := ci.j.lookup(ci.site, "space-intent", source); !created {
		return nil // a space that was there before: its permissions are its own
	}
	dest, ok := ci.j.lookup(ci.site, "space", source)
	if !ok {
		return nil
	}
	me, err := ci.account()
	if err != nil {
		return err
	}
	// What the space has and should not, and what it lacks: its grants,
	// or on a role-based site its role assignments.
	what, note := "permissions", "created with exactly the source's permissions, and the importing account's own read and administer"
	check := ci.checkGrants
	if ci.roles != nil {
		what, note = "role assignments", "created with roles for exactly the source's users and groups, and the importing account as its Admin"
		check = ci.checkRoles
	}
	extra, missing, err := check(dest, me)
	if err != nil {
		return fmt.Errorf("space %s: reading its %s back: %w", key, what, err)
	}
	if len(extra) > 0 {
		slices.Sort(extra)
		return fmt.Errorf("space %s has %s the source's does not (%s): the destination added them (its defaults?); "+
			"nothing was written into the space: remove them in its settings, then run the import again", key, what, listSome(extra, 8))
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return fmt.Errorf("space %s lacks %s that were made (%s): nothing was written into the space; run the import again", key, what, listSome(missing, 8))
	}
	ci.report.Notes = append(ci.report.Notes, fmt.Sprintf("space %s: %s", key, note))
	return ci.j.record(ci.site, "space-checked", source, dest)
}

// checkGrants reads back the permissions of a space ferry created, against
// those granted so far and the importing account's own.
func (ci *cloudImport) checkGrants(dest, me string) (extra, missing []string, err error) {
	want := map[string]bool{}
	for _, g := range ownSpaceGrants {
		want["user "+me+" "+g] = true
	}
	for _, v := range ci.j.all(ci.site, "space_permission") {
		f := strings.Split(v, "\x00") // key, space, type, principal, operation, target
		if len(f) == 6 && f[1] == dest {
			want[f[2]+" "+f[3]+" "+f[4]+":"+f[5]] = true
		}
	}
	have := map[string]bool{}
	err = ci.c.List(ci.ctx, "/wiki/api/v2/spaces/"+dest+"/permissions", url.Values{"limit": {"250"}}, func(r json.RawMessage) error {
		var p struct {
			Principal struct{ Type, ID string }
			Operation struct{ Key, TargetType string }
		}
		if err := json.Unmarshal(r, &p); err != nil {
			return err
		}
		g := p.Principal.Type + " " + p.Principal.ID + " " + p.Operation.Key + ":" + p.Operation.TargetType
		have[g] = true
		if !want[g] {
			extra = append(extra, g)
		}
		return nil
	})
	for g := range want {
		if !have[g] {
			missing = append(missing, g)
		}
	}
	return extra, missing, err
}

// listSome lists up to n items, and how many more there are.
func listSome(items []string, n int) string {
	if len(items) <= n {
		return strings.Join(items, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(items[:n], ", "), len(items)-n)
}

// spaceLevel reports whether an event is about a space itself or its
// permissions, which go in before its content.
func spaceLevel(t model.EventType) bool {
	switch t {
	case model.SpaceCreated, model.SpaceUpdated, model.SpacePermissionGranted, model.SpacePermissionRevoked:
		return true
	}
	return false
}

// grantOperations are what v1's POST /space/{key}/permission can grant
// (v1 spec, SpacePermissionRequest); a source grant of another operation
// is reported, not written.
var grantOperations = map[string]bool{
	"create:page": true, "create:blogpost": true, "create:comment": true, "create:attachment": true, "read:space": true,
	"delete:page": true, "delete:blogpost": true, "delete:comment": true, "delete:attachment": true, "delete:space": true,
	"export:space": true, "administer:space": true, "archive:page": true, "restrict_content:space": true,
}

// noReadReason is why a grant waiting for its principal's read grant was
// never written.
const noReadReason = "space permission for a user or group that may not read the space at the source (Cloud grants nothing else without read space)"

// permission grants a space permission unless the space already has it.
// Cloud refuses any grant but read space to a user or group that may not
// read the space yet, so such a grant waits, noted in the journal, for
// the principal's read grant, which the archive may give later.
func (ci *cloudImport) permission(spaceKey string, p *model.SpacePermission, counts *Counts) error {
	space, ok := ci.j.lookup(ci.site, "space", p.SpaceID)
	principal, pok := "", false
	switch p.PrincipalType {
	case "user":
		principal, pok = ci.j.lookup(ci.site, "user", p.PrincipalID)
		if ci.withheld(p.PrincipalID, "space permission "+p.Operation+" in space "+spaceKey, counts) {
			return nil
		}
	case "group":
		principal, pok = ci.j.lookup(ci.site, "group", p.PrincipalID)
	}
	if !ok || !pok {
		counts.Skipped++
		ci.report.Skipped["space permission for a space, user or group not at the destination, or for anonymous users"]++
		return nil
	}
	if ci.roles != nil {
		key, target, _ := strings.Cut(p.Operation, ":")
		if err := ci.j.record(ci.site, "space_permission", p.ID, strings.Join([]string{spaceKey, space, p.PrincipalType, principal, key, target}, "\x00")); err != nil {
			return err
		}
		err := ci.assignRole(space, p.PrincipalType, principal, p.Operation, true, counts)
		if err != nil && p.PrincipalType == "user" && ci.refused(p.PrincipalID, "space role in space "+spaceKey, err, counts) {
			return nil
		}
		return err
	}
	if !grantOperations[p.Operation] {
		counts.Skipped++
		ci.report.Skipped["space permission Cloud's API cannot grant ("+p.Operation+")"]++
		return nil
	}
	key, target, _ := strings.Cut(p.Operation, ":")
	grant := p.PrincipalType + " " + principal + " " + p.Operation
	has := func(g string) (bool, error) {
		grants, err := ci.destGrants(space)
		return grants[g], err
	}
	if done, err := has(grant); err != nil {
		return err
	} else if !done && p.Operation != "read:space" {
		if reads, err := has(p.PrincipalType + " " + principal + " read:space"); err != nil {
			return err
		} else if !reads {
			data, _ := json.Marshal(waiting{SpaceKey: spaceKey, Permission: *p})
			return ci.j.record(ci.site, "space_permission-waiting", p.ID, string(data))
		}
	}
	// Recorded, so that a later archive can revoke it.
	if err := ci.j.record(ci.site, "space_permission", p.ID, strings.Join([]string{spaceKey, space, p.PrincipalType, principal, key, target}, "\x00")); err != nil {
		return err
	}
	if done, err := has(grant); err != nil {
		return err
	} else if done {
		counts.Unchanged++
	} else {
		body := map[string]any{"subject": map[string]string{"type": p.PrincipalType, "identifier": principal}, "operation": map[string]string{"key": key, "target": target}}
		err := writeChecked(func() error {
			return ci.c.Post(ci.ctx, "/wiki/rest/api/space/"+url.PathEscape(spaceKey)+"/permission", body, nil)
		}, func() (bool, error) { delete(ci.grants, space); return has(grant) })
		if err != nil && p.PrincipalType == "user" && ci.refused(p.PrincipalID, "space permission "+p.Operation+" in space "+spaceKey, err, counts) {
			return ci.j.forget(ci.site, "space_permission", p.ID)
		}
		if err != nil {
			return err
		}
		ci.grants[space][grant] = true
		counts.Created++
	}
	if p.Operation != "read:space" {
		return nil
	}
	// What waited for this read grant goes in now.
	for id, v := range ci.j.all(ci.site, "space_permission-waiting") {
		var w waiting
		if json.Unmarshal([]byte(v), &w) != nil || w.Permission.SpaceID != p.SpaceID || w.Permission.PrincipalType != p.PrincipalType || w.Permission.PrincipalID != p.PrincipalID {
			continue
		}
		if err := ci.j.forget(ci.site, "space_permission-waiting", id); err != nil {
			return err
		}
		if err := ci.permission(w.SpaceKey, &w.Permission, counts); err != nil {
			return err
		}
	}
	return nil
}

// waiting is a grant waiting for its principal's read grant.
type waiting struct {
	SpaceKey   string
	Permission model.SpacePermission
}

// reportWaiting reports the grants whose principal's read grant never
// came: the source let them read nothing, so Cloud cannot grant them.
func (ci *cloudImport) reportWaiting() {
	for range ci.j.all(ci.site, "space_permission-waiting") {
		ci.report.Skipped[noReadReason]++
		ci.report.kind(model.SpacePermissionGranted.Kind()).Skipped++
	}
}

// destGrants is a space's grants at the destination ("group ID
// read:space"), read once.
func (ci *cloudImport) destGrants(space string) (map[string]bool, error) {
	if g, ok := ci.grants[space]; ok {
		return g, nil
	}
	g := map[string]bool{}
	err := ci.c.List(ci.ctx, "/wiki/api/v2/spaces/"+space+"/permissions", url.Values{"limit": {"250"}}, func(r json.RawMessage) error {
		var q struct {
			Principal struct{ Type, ID string }
			Operation struct{ Key, TargetType string }
		}
		if err := json.Unmarshal(r, &q); err != nil {
			return err
		}
		g[q.Principal.Type+" "+q.Principal.ID+" "+q.Operation.Key+":"+q.Operation.TargetType] = true
		return nil
	})
	if err != nil {
		return nil, err
	}
	ci.grants[space] = g
	return g, nil
}

// A space Cloud creates comes with a homepage, and a page created without
// a parent goes under it (v2 createPage: "the space homepage's ID will be
// used", unless root-level=true). So the source space's homepage is
// written onto the destination's, as new versions of it, and other root
// pages are created at the root.

// homepage takes, for the source space's homepage c, the homepage Cloud
// made with the space, and returns its id ("" if c is not the homepage of
// a space ferry created): labelled and recorded before anything is
// written to it, so that a run killed at any point after finds it, and
// the number of versions it had, which the source's are written after.
func (ci *cloudImport) homepage(c *model.Content, space string, v *model.Version) (string, error) {
	if c.ParentID != "" {
		return "", nil
	}
	if home, ok := ci.j.lookup(ci.site, "space-homepage", c.SpaceID); !ok || home != v.ContentID {
		return "", nil
	}
	var sp struct{ HomepageID string }
	if err := ci.c.Get(ci.ctx, "/wiki/api/v2/spaces/"+space, nil, &sp); err != nil {
		return "", err
	}
	if sp.HomepageID == "" {
		return "", nil // none (any more): the page is created as any other
	}
	var cur struct {
		Version struct{ Number int }
	}
	if err := ci.c.Get(ci.ctx, "/wiki/api/v2/pages/"+sp.HomepageID, nil, &cur); err != nil {
		return "", err
	}
	offset := cur.Version.Number
	prov := Provenance{SourceSite: ci.site, SourceID: v.ContentID, ArchiveID: ci.archiveID, Author: c.Author, CreatedAt: c.CreatedAt, VersionOffset: offset}
	if err := ci.setProvenance("pages", sp.HomepageID, prov); err != nil {
		return "", err
	}
	records := map[string]string{"content": sp.HomepageID, "content-kind": "pages", "version-offset": strconv.Itoa(offset)}
	if owner, err := ci.owner(c); err != nil {
		return "", err
	} else if owner != "" {
		records["owner-wanted"] = owner // its first version moves it
	}
	if err := ci.j.recordAll(ci.site, v.ContentID, records); err != nil {
		return "", err
	}
	return sp.HomepageID, nil
}

// versionOffset is what to add to a source version's number at the
// destination: non-zero for a space's homepage (see homepage).
func (ci *cloudImport) versionOffset(sourceID string) int {
	s, _ := ci.j.lookup(ci.site, "version-offset", sourceID)
	n, _ := strconv.Atoi(s)
	return n
}

// Space properties go through v2 (/spaces/{id}/properties): v1's are
// going away (CONFCLOUD-77052).

// spaceProperty reads a space's property into v (if not nil); false if
// the space has none of that key.
func (ci *cloudImport) spaceProperty(space, key string, v any) (bool, error) {
	var props struct {
		Results []struct{ Value json.RawMessage }
	}
	if err := ci.c.Get(ci.ctx, "/wiki/api/v2/spaces/"+space+"/properties", url.Values{"key": {key}}, &props); err != nil {
		return false, err
	}
	if len(props.Results) == 0 {
		return false, nil
	}
	if v != nil {
		if err := json.Unmarshal(props.Results[0].Value, v); err != nil {
			return true, fmt.Errorf("space %s, property %s: %w", space, key, err)
		}
	}
	return true, nil
}

// addSpaceProperty gives a space a property.
func (ci *cloudImport) addSpaceProperty(space, key string, value any) error {
	return ci.c.Post(ci.ctx, "/wiki/api/v2/spaces/"+space+"/properties", map[string]any{"key": key, "value": value}, nil)
}

// createSpace creates a space and labels it with its provenance.
func (ci *cloudImport) createSpace(p *model.Space) error {
	// With permissions given, Cloud applies exactly those: not the
	// destination's defaults (see checkSpace).
	perms, err := ci.spacePermissions()
	if err != nil {
		return err
	}
	body := map[string]any{"key": p.Key, "name": p.Name, "description": map[string]any{"plain": map[string]any{"value": p.Description, "representation": "plain"}},
		"permissions": perms}
	// Noted before the write: a run killed between creating the space
	// and labelling it leaves a space the next run must recognise.
	if err := ci.j.record(ci.site, "space-intent", p.ID, p.Key); err != nil {
		return err
	}
	path := "/wiki/rest/api/space"
	if ci.roles != nil {
		// A role-based site: v2, with the importing account its only
		// Admin (and so no default roles).
		admin, _ := adminRole(ci.roles)
		me, err := ci.account()
		if err != nil {
			return err
		}
		path, body = "/wiki/api/v2/spaces", map[string]any{"key": p.Key, "name": p.Name, "description": map[string]any{"value": p.Description, "representation": "plain"},
			"roleAssignments": []any{map[string]any{"principal": map[string]string{"principalType": "USER", "principalId": me}, "roleId": admin.ID}}}
	}
	var created struct{ ID json.Number }
	err = writeChecked(func() error { return ci.c.Post(ci.ctx, path, body, &created) }, func() (bool, error) {
		var found struct{ Results []struct{ ID string } }
		err := ci.c.Get(ci.ctx, "/wiki/api/v2/spaces", url.Values{"keys": {p.Key}}, &found)
		if len(found.Results) > 0 {
			created.ID = json.Number(found.Results[0].ID)
		}
		return len(found.Results) > 0, err
	})
	if err != nil {
		return err
	}
	prov := Provenance{SourceSite: ci.site, SourceID: p.ID, ArchiveID: ci.archiveID, Author: p.Author, CreatedAt: p.CreatedAt, Groups: ci.j.all(ci.site, "group"), CreatedGroups: slices.Sorted(maps.Keys(ci.j.all(ci.site, "group-owned")))}
	err = writeChecked(func() error {
		return ci.addSpaceProperty(created.ID.String(), ProvenanceKey, prov)
	}, func() (bool, error) {
		return ci.spaceProperty(created.ID.String(), ProvenanceKey, nil)
	})
	if err != nil {
		return err
	}
	if err := ci.j.record(ci.site, "space-key", p.ID, p.Key); err != nil {
		return err
	}
	if p.Homepage != "" {
		if err := ci.j.record(ci.site, "space-homepage", p.ID, p.Homepage); err != nil {
			return err
		}
	} else {
		ci.report.Notes = append(ci.report.Notes, fmt.Sprintf("space %s: the source's space has no homepage; the one Cloud made with the space stays", p.Key))
	}
	return ci.j.record(ci.site, "space", p.ID, created.ID.String())
}
