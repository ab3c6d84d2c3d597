package importer

// Spaces on a role-based site. A site in ROLES mode (v2 GET
// /space-role-mode) gives space access through roles, each a fixed set of
// space permissions, assigned per user or group (/spaces/{id}/
// role-assignments), and refuses v1's grants. There, a space is created
// (v2 POST /spaces) with the importing account as its only Admin, and each
// source principal gets the largest role that grants nothing its source
// grants did not: never wider than the source. What that role lacks is
// reported.

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// spaceRole is one of the destination's space roles.
type spaceRole struct {
	ID    string   `json:"id"`
	Name  string   `json:"name"`
	Perms []string `json:"spacePermissions"`
}

// roleSite says whether the destination gives space access through roles,
// reading its roles the first time it is asked.
func (ci *cloudImport) roleSite() (bool, error) {
	if ci.roleChecked {
		return ci.roles != nil, nil
	}
	var m struct{ Mode string }
	err := ci.c.Get(ci.ctx, "/wiki/api/v2/space-role-mode", nil, &m)
	if notFound(err) {
		err = nil // a site without role-based access control
	}
	if err != nil {
		return false, fmt.Errorf("asking whether the destination gives space access through roles: %w", err)
	}
	ci.roleChecked = true
	if m.Mode != "ROLES" { // PRE_ROLES, or ROLES_TRANSITION, where v1's grants still work
		return false, nil
	}
	roles := []spaceRole{}
	err = ci.c.List(ci.ctx, "/wiki/api/v2/space-roles", url.Values{"limit": {"250"}}, func(r json.RawMessage) error {
		var role spaceRole
		if err := json.Unmarshal(r, &role); err != nil {
			return err
		}
		roles = append(roles, role)
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("reading the destination's space roles: %w", err)
	}
	if _, ok := adminRole(roles); !ok {
		return false, fmt.Errorf("the destination gives space access through roles, but none of its %d roles administers a space: ferry cannot create a space it may go on writing to", len(roles))
	}
	ci.roles = roles
	ci.report.Notes = append(ci.report.Notes, "the destination gives space access through roles: each user and group gets the largest role that grants nothing its source grants did not")
	return true, nil
}

// adminRole is the role that administers a space with the most
// permissions: the one a space's creator takes.
func adminRole(roles []spaceRole) (spaceRole, bool) {
	var best spaceRole
	for _, r := range roles {
		if slices.Contains(r.Perms, "administer:space") && len(r.Perms) > len(best.Perms) {
			best = r
		}
	}
	return best, best.ID != ""
}

// bestRole is the largest role all of whose permissions are among ops
// (ties broken by id, so that every run chooses the same); ok is false
// when there is none, as for a principal that may not read the space.
func bestRole(roles []spaceRole, ops []string) (spaceRole, bool) {
	var best spaceRole
	for _, r := range roles {
		if len(r.Perms) == 0 || !containsAll(ops, r.Perms) {
			continue
		}
		if len(r.Perms) > len(best.Perms) || len(r.Perms) == len(best.Perms) && r.ID < best.ID {
			best = r
		}
	}
	return best, best.ID != ""
}

func containsAll(set, items []string) bool {
	for _, x := range items {
		if !slices.Contains(set, x) {
			return false
		}
	}
	return true
}

// principalKey names a principal in a space, as the journal keeps roles.
func principalKey(space, ptype, principal string) string {
	return space + "\x00" + ptype + "\x00" + principal
}

// assignRole adds a source grant to (or, revoking, removes it from) what a
// principal has in a space, and assigns the role that now fits, unless
// the principal has it already.
func (ci *cloudImport) assignRole(space, ptype, principal, op string, grant bool, counts *Counts) error {
	k := principalKey(space, ptype, principal)
	var ops []string
	if v, ok := ci.j.lookup(ci.site, "role-ops", k); ok {
		json.Unmarshal([]byte(v), &ops)
	}
	if grant && !slices.Contains(ops, op) {
		ops = append(ops, op)
	} else if !grant {
		ops = slices.DeleteFunc(ops, func(o string) bool { return o == op })
	}
	slices.Sort(ops)
	data, _ := json.Marshal(ops)
	if err := ci.j.record(ci.site, "role-ops", k, string(data)); err != nil {
		return err
	}
	role, _ := bestRole(ci.roles, ops)
	have, known := ci.j.lookup(ci.site, "role", k)
	if !known {
		current, err := ci.destRoles(space)
		if err != nil {
			return err
		}
		have = current[ptype+" "+principal]
	}
	if have == role.ID {
		counts.Unchanged++
		return ci.j.record(ci.site, "role", k, role.ID)
	}
	a := map[string]any{"principal": map[string]string{"principalType": strings.ToUpper(ptype), "principalId": principal}}
	if role.ID != "" {
		a["roleId"] = role.ID
	}
	if err := ci.c.PostRepeatable(ci.ctx, "/wiki/api/v2/spaces/"+space+"/role-assignments", []any{a}, nil); err != nil {
		return err
	}
	switch {
	case !grant:
		counts.Deleted++
	case have == "":
		counts.Created++
	default:
		counts.Updated++
	}
	delete(ci.roleOf, space)
	return ci.j.record(ci.site, "role", k, role.ID)
}

// destRoles reads a space's role assignments ("user ID" or "group ID" →
// role id), once per space and run.
func (ci *cloudImport) destRoles(space string) (map[string]string, error) {
	if got, ok := ci.roleOf[space]; ok {
		return got, nil
	}
	got := map[string]string{}
	err := ci.c.List(ci.ctx, "/wiki/api/v2/spaces/"+space+"/role-assignments", url.Values{"limit": {"250"}}, func(r json.RawMessage) error {
		var a struct {
			Principal struct{ PrincipalType, PrincipalID string }
			RoleID    string
		}
		if err := json.Unmarshal(r, &a); err != nil {
			return err
		}
		got[strings.ToLower(a.Principal.PrincipalType)+" "+a.Principal.PrincipalID] = a.RoleID
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading the role assignments of space %s: %w", space, err)
	}
	ci.roleOf[space] = got
	return got, nil
}

// reportRoles reports, per source grant, what the role a principal got
// lacks.
func (ci *cloudImport) reportRoles() {
	if ci.roles == nil {
		return
	}
	for _, v := range ci.j.all(ci.site, "role-ops") {
		var ops []string
		if json.Unmarshal([]byte(v), &ops) != nil {
			continue
		}
		role, ok := bestRole(ci.roles, ops)
		for _, op := range ops {
			switch {
			case !ok:
				ci.report.Skipped["space permission of a user or group for whom no role of the destination grants only what the source did (none without read space): no role given"]++
			case !slices.Contains(role.Perms, op):
				ci.report.Skipped[fmt.Sprintf("space permission %s, which the role given (%s, the largest within the source's grants) lacks", op, role.Name)]++
			}
		}
	}
}

// checkRoles reads back the role assignments of a space ferry created and
// says what is there that should not be, and what is missing.
func (ci *cloudImport) checkRoles(dest, me string) (extra, missing []string, err error) {
	admin, _ := adminRole(ci.roles)
	want := map[string]string{"user " + me: admin.ID}
	for k, role := range ci.j.all(ci.site, "role") {
		f := strings.Split(k, "\x00")
		if len(f) == 3 && f[0] == dest && role != "" {
			want[f[1]+" "+f[2]] = role
		}
	}
	delete(ci.roleOf, dest)
	have, err := ci.destRoles(dest)
	if err != nil {
		return nil, nil, err
	}
	for p, role := range have {
		if want[p] != role {
			extra = append(extra, p+" "+role)
		}
	}
	for p, role := range want {
		if have[p] != role {
			missing = append(missing, p+" "+role)
		}
	}
	return extra, missing, nil
}
