package sandbox

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
)

// Rule: a site in ROLES mode gives space access through roles only: v1
// grants and v1 space creation with permissions are refused; v2 creates a
// space with exactly the role assignments given (one of them Admin), or
// the defaults; role assignments set, change and remove a principal's
// access, and are read back; an account without access takes no role. A
// site before roles says so, and refuses role writes.
func TestRuleSpaceRoles(t *testing.T) {
	site := generatedSite(t)
	h := New(site)
	srv := httptest.NewServer(h)
	defer srv.Close()
	get := func(path string) map[string]any {
		t.Helper()
		status, out := call(t, srv, http.MethodGet, path, nil, true)
		if status != http.StatusOK {
			t.Fatalf("GET %s: %d %v", path, status, out)
		}
		return out
	}
	if mode := get("/wiki/api/v2/space-role-mode")["mode"]; mode != "PRE_ROLES" {
		t.Errorf("mode before roles: %v", mode)
	}
	var group, user string
	site.DB().QueryRow(`SELECT id FROM groups WHERE deleted_rev IS NULL AND name != 'confluence-users' ORDER BY id LIMIT 1`).Scan(&group)
	site.DB().QueryRow(`SELECT account_id FROM users WHERE status = 'active' ORDER BY account_id LIMIT 1`).Scan(&user)
	assign := func(ptype, id, role string) map[string]any {
		a := map[string]any{"principal": map[string]string{"principalType": ptype, "principalId": id}}
		if role != "" {
			a["roleId"] = role
		}
		return a
	}
	create := func(key string, roles ...map[string]any) (int, map[string]any) {
		body := map[string]any{"key": key, "name": key + " space"}
		if roles != nil {
			body["roleAssignments"] = roles
		}
		return call(t, srv, http.MethodPost, "/wiki/api/v2/spaces", body, true)
	}
	if status, _ := create("PRE", assign("USER", CallerAccount, "admin")); status != http.StatusBadRequest {
		t.Errorf("v2 space create before roles: %d, want 400", status)
	}

	h.Roles = true
	if mode := get("/wiki/api/v2/space-role-mode")["mode"]; mode != "ROLES" {
		t.Errorf("mode: %v", mode)
	}
	if roles := get("/wiki/api/v2/space-roles")["results"].([]any); len(roles) != len(SpaceRoles) {
		t.Errorf("roles: %v", roles)
	}
	v1 := map[string]any{"key": "VONE", "name": "v1", "permissions": []any{map[string]any{"subjects": map[string]any{"group": map[string]any{"results": []any{map[string]string{"id": group}}}},
		"operation": map[string]string{"operation": "read", "targetType": "space"}}}}
	if status, _ := call(t, srv, http.MethodPost, "/wiki/rest/api/space", v1, true); status != http.StatusBadRequest {
		t.Errorf("v1 space create with permissions in ROLES mode: %d, want 400", status)
	}
	var key string
	site.DB().QueryRow(`SELECT key FROM spaces ORDER BY key LIMIT 1`).Scan(&key)
	grant := map[string]any{"subject": map[string]string{"type": "group", "identifier": group}, "operation": map[string]string{"key": "read", "target": "space"}}
	if status, _ := call(t, srv, http.MethodPost, "/wiki/rest/api/space/"+key+"/permission", grant, true); status != http.StatusBadRequest {
		t.Errorf("a v1 grant in ROLES mode: %d, want 400", status)
	}
	if status, _ := create("NOADMIN", assign("GROUP", group, "viewer")); status != http.StatusBadRequest {
		t.Errorf("a space without an Admin assignment: %d, want 400", status)
	}
	status, sp := create("ROLES", assign("USER", CallerAccount, "admin"), assign("GROUP", group, "viewer"))
	if status != http.StatusCreated {
		t.Fatalf("v2 space create: %d %v", status, sp)
	}
	id := fmt.Sprint(sp["id"])
	roles := func() []string {
		t.Helper()
		var got []string
		for _, a := range get("/wiki/api/v2/spaces/" + id + "/role-assignments")["results"].([]any) {
			a := a.(map[string]any)
			p := a["principal"].(map[string]any)
			got = append(got, fmt.Sprint(p["principalType"], " ", p["principalId"], " ", a["roleId"]))
		}
		slices.Sort(got)
		return got
	}
	if got, want := roles(), []string{"GROUP " + group + " viewer", "USER " + CallerAccount + " admin"}; !slices.Equal(got, want) {
		t.Errorf("assignments of a new space: %v, want %v", got, want)
	}
	if n := countOf(t, site, `SELECT count(*) FROM space_permissions p JOIN spaces s ON s.id = p.space_id WHERE s.key = 'ROLES' AND p.deleted_rev IS NULL`); n != 1+len(SpaceRoles[2].Perms) {
		t.Errorf("%d permissions in the new space, want the Admin role's and read", n)
	}
	set := func(as ...map[string]any) int {
		status, _ := call(t, srv, http.MethodPost, "/wiki/api/v2/spaces/"+id+"/role-assignments", as, true)
		return status
	}
	if status := set(assign("GROUP", group, "collaborator"), assign("USER", user, "viewer")); status != http.StatusOK {
		t.Fatalf("setting roles: %d", status)
	}
	if got, want := roles(), slices.Sorted(slices.Values([]string{"GROUP " + group + " collaborator", "USER " + CallerAccount + " admin", "USER " + user + " viewer"})); !slices.Equal(got, want) {
		t.Errorf("assignments after setting: %v, want %v", got, want)
	}
	if status := set(assign("GROUP", group, "")); status != http.StatusOK {
		t.Fatalf("removing a role: %d", status)
	}
	if got, want := roles(), slices.Sorted(slices.Values([]string{"USER " + CallerAccount + " admin", "USER " + user + " viewer"})); !slices.Equal(got, want) {
		t.Errorf("assignments after removing: %v, want %v", got, want)
	}
	h.SetAccess(user, false)
	if status := set(assign("USER", user, "collaborator")); status != http.StatusBadRequest {
		t.Errorf("a role for an account without access: %d, want 400", status)
	}
	if status, _ := create("DEFAULTS"); status != http.StatusCreated {
		t.Fatalf("a space with the default roles: %d", status)
	}
	if n := countOf(t, site, `SELECT count(*) FROM space_permissions p JOIN spaces s ON s.id = p.space_id JOIN groups g ON g.id = p.principal_id
		WHERE s.key = 'DEFAULTS' AND g.name = 'confluence-users' AND p.deleted_rev IS NULL`); n != len(DefaultSpacePermissions) {
		t.Errorf("the default roles: %d permissions of the default access group", n)
	}
}
