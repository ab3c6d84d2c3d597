package sandbox

import (
	"database/sql"
	"encoding/json"
	"net/http"
	"slices"
	"strings"

	"ferry/embedded"
	"ferry/model"
)

// Role-based access control (CLOUD.md rule 30). A site in ROLES mode
// (Roles) gives space access through roles, each a fixed set of space
// permissions, assigned per principal (/spaces/{id}/role-assignments);
// v1's grants, and v1 space creation with permissions, are refused, and
// v2 POST /spaces creates a space with exactly the role assignments given
// (the defaults when none are). A principal's role is read from its
// permissions: the role with exactly that set.

// SpaceRole is one of the site's space roles.
type SpaceRole struct {
	ID, Name string
	Perms    []string // "operation:target", as v2's space permissions name them
}

// SpaceRoles are the site's roles. The Collaborator role is the default
// access group's default permissions, so a space's defaults are the same
// in both modes.
var SpaceRoles = []SpaceRole{
	{ID: "viewer", Name: "Viewer", Perms: []string{"read:space"}},
	{ID: "collaborator", Name: "Collaborator", Perms: DefaultSpacePermissions},
	{ID: "admin", Name: "Admin", Perms: []string{"read:space", "create:page", "create:blogpost", "create:comment", "create:attachment",
		"delete:page", "delete:blogpost", "delete:comment", "delete:attachment", "export:space", "administer:space", "delete:space",
		"archive:page", "restrict_content:space"}},
}

func init() {
	extra = append(extra, func(s *Server) {
		s.handle("GET /wiki/api/v2/space-role-mode", s.roleMode)
		s.handle("GET /wiki/api/v2/space-roles", s.spaceRoles)
		s.handle("POST /wiki/api/v2/spaces", s.createSpaceV2)
		s.handle("GET /wiki/api/v2/spaces/{id}/role-assignments", s.roleAssignments)
		s.handle("POST /wiki/api/v2/spaces/{id}/role-assignments", s.setRoleAssignments)
	})
}

func (s *Server) roleMode(w http.ResponseWriter, r *http.Request) {
	mode := "PRE_ROLES"
	if s.Roles {
		mode = "ROLES"
	}
	writeJSON(w, map[string]string{"mode": mode})
}

func roleJSON(role SpaceRole) map[string]any {
	return map[string]any{"id": role.ID, "type": "SYSTEM", "name": role.Name, "description": role.Name + " of a space", "spacePermissions": role.Perms}
}

func (s *Server) spaceRoles(w http.ResponseWriter, r *http.Request) {
	var results []any
	for _, role := range SpaceRoles {
		results = append(results, roleJSON(role))
	}
	writeList(w, r, results, "", false)
}

// roleOf names the role whose permissions are exactly perms, or "".
func roleOf(perms []string) string {
	slices.Sort(perms)
	for _, role := range SpaceRoles {
		if slices.Equal(slices.Sorted(slices.Values(role.Perms)), perms) {
			return role.ID
		}
	}
	return ""
}

// assignments lists a space's principals with a role, by type and id.
func (s *Server) assignments(space string) ([]any, error) {
	rows, err := s.site.DB().Query(`SELECT principal_type, principal_id, operation FROM space_permissions
		WHERE space_id = ? AND deleted_rev IS NULL AND principal_type IN ('user', 'group') ORDER BY 1, 2`, space)
	if err != nil {
		return nil, err
	}
	perms := map[[2]string][]string{}
	var order [][2]string
	for rows.Next() {
		var k [2]string
		var op string
		if err := rows.Scan(&k[0], &k[1], &op); err != nil {
			rows.Close()
			return nil, err
		}
		if perms[k] == nil {
			order = append(order, k)
		}
		perms[k] = append(perms[k], op)
	}
	rows.Close()
	results := []any{}
	for _, k := range order {
		if role := roleOf(perms[k]); role != "" {
			results = append(results, map[string]any{"principal": map[string]any{"principalType": strings.ToUpper(k[0]), "principalId": k[1]}, "roleId": role})
		}
	}
	return results, rows.Err()
}

func (s *Server) roleAssignments(w http.ResponseWriter, r *http.Request) {
	space, ok := s.one(`SELECT id FROM spaces WHERE rowid = ? AND deleted_rev IS NULL`, r.PathValue("id"))
	if !ok {
		writeError(w, http.StatusNotFound, "NOT_FOUND", "No space with id "+r.PathValue("id"))
		return
	}
	results, err := s.assignments(space)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "INTERNAL_SERVER_ERROR", err.Error())
		return
	}
	writeList(w, r, results, "", false)
}

// roleAssignment is one of a request's: a principal and its role (none
// removes the principal's access).
type roleAssignment struct {
	Principal struct {
		PrincipalType string `json:"principalType"`
		PrincipalID   string `json:"principalId"`
	} `json:"principal"`
	RoleID string `json:"roleId"`
}

// grantsOf checks role assignments and turns them into grants: 400 for a
// principal or role the site does not have, or an account without access.
func (s *Server) grantsOf(w http.ResponseWriter, r *http.Request, as []roleAssignment) ([]spaceGrant, bool) {
	var grants []spaceGrant
	for _, a := range as {
		ptype, pid := strings.ToLower(a.Principal.PrincipalType), a.Principal.PrincipalID
		switch ptype {
		case "user":
			if _, ok := s.one(`SELECT account_id FROM users WHERE account_id = ?`, pid); !ok && pid != CallerAccount {
				writeError(w, http.StatusBadRequest, "INVALID_REQUEST_PARAMETER", "no user with account id "+pid)
				return nil, false
			}
			if pid != CallerAccount && !s.hasAccess(r, pid) {
				writeError(w, http.StatusBadRequest, "INVALID_REQUEST_PARAMETER", "user "+pid+" does not have access to this site: invite them first")
				return nil, false
			}
		case "group":
			if _, ok := s.one(`SELECT id FROM groups WHERE id = ? AND deleted_rev IS NULL`, pid); !ok {
				writeError(w, http.StatusBadRequest, "INVALID_REQUEST_PARAMETER", "no group with id "+pid)
				return nil, false
			}
		default:
			writeError(w, http.StatusBadRequest, "INVALID_REQUEST_PARAMETER", "principalType "+a.Principal.PrincipalType+": the sandbox takes USER or GROUP")
			return nil, false
		}
		if a.RoleID == "" {
			grants = append(grants, spaceGrant{ptype, pid, ""}) // no role: no access
			continue
		}
		i := slices.IndexFunc(SpaceRoles, func(role SpaceRole) bool { return role.ID == a.RoleID })
		if i < 0 {
			writeError(w, http.StatusBadRequest, "INVALID_REQUEST_PARAMETER", "no space role with id "+a.RoleID)
			return nil, false
		}
		for _, op := range SpaceRoles[i].Perms {
			grants = append(grants, spaceGrant{ptype, pid, op})
		}
	}
	return grants, true
}

// createSpaceV2 creates a space (v2, role-based tenants only) with exactly
// the role assignments given, of which one must be Admin; none gives the
// defaults.
func (s *Server) createSpaceV2(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name        string `json:"name"`
		Key         string `json:"key"`
		Description struct {
			Value string `json:"value"`
		} `json:"description"`
		RoleAssignments []roleAssignment `json:"roleAssignments"`
	}
	if !readBody(w, r, &req) {
		return
	}
	switch {
	case !s.Roles:
		writeError(w, http.StatusBadRequest, "INVALID_REQUEST_PARAMETER", "this site does not use space roles: create spaces with v1 POST /wiki/rest/api/space")
		return
	case req.Key == "" || req.Name == "":
		writeError(w, http.StatusBadRequest, "INVALID_REQUEST_PARAMETER", "key and name are required (the sandbox takes no alias)")
		return
	case len(req.RoleAssignments) > 0 && !slices.ContainsFunc(req.RoleAssignments, func(a roleAssignment) bool { return a.RoleID == "admin" }):
		writeError(w, http.StatusBadRequest, "INVALID_REQUEST_PARAMETER", "roleAssignments: at least one Admin role assignment must be specified")
		return
	}
	if _, taken := s.one(`SELECT id FROM spaces WHERE upper(key) = upper(?)`, req.Key); taken {
		writeError(w, http.StatusBadRequest, "INVALID_REQUEST_PARAMETER", "A space with key "+req.Key+" already exists")
		return
	}
	grants, ok := s.grantsOf(w, r, req.RoleAssignments)
	if !ok {
		return
	}
	if len(req.RoleAssignments) == 0 {
		if group, ok := s.one(`SELECT id FROM groups WHERE name = ? AND deleted_rev IS NULL`, DefaultCallerGroups[0]); ok {
			for _, op := range DefaultSpacePermissions {
				grants = append(grants, spaceGrant{"group", group, op})
			}
		}
	}
	grants = slices.DeleteFunc(grants, func(g spaceGrant) bool { return g.op == "" })
	id, err := s.newSpace(r, req.Key, req.Name, req.Description.Value, grants)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "INTERNAL_SERVER_ERROR", "create space failed")
		return
	}
	var out map[string]any
	if !s.query(w, `SELECT `+spaceColumns+` FROM spaces WHERE id = ?`, []any{id}, func(rows *sql.Rows) error {
		var err error
		out, _, err = spaceJSON(rows)
		return err
	}) {
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	json.NewEncoder(w).Encode(out)
}

// setRoleAssignments gives each principal named exactly its role's
// permissions (none with no role), and answers the space's assignments.
func (s *Server) setRoleAssignments(w http.ResponseWriter, r *http.Request) {
	var req []roleAssignment
	if !readBody(w, r, &req) {
		return
	}
	space, ok := s.one(`SELECT id FROM spaces WHERE rowid = ? AND deleted_rev IS NULL`, r.PathValue("id"))
	switch {
	case !ok:
		writeError(w, http.StatusNotFound, "NOT_FOUND", "No space with id "+r.PathValue("id"))
		return
	case !s.Roles:
		writeError(w, http.StatusBadRequest, "INVALID_REQUEST_PARAMETER", "this site does not use space roles: grant space permissions with v1")
		return
	case len(req) == 0:
		writeError(w, http.StatusBadRequest, "INVALID_REQUEST_PARAMETER", "give at least one role assignment")
		return
	}
	grants, ok := s.grantsOf(w, r, req)
	if !ok {
		return
	}
	var revoke []string // what the principals named have now
	for _, a := range req {
		rows, err := s.site.DB().Query(`SELECT id FROM space_permissions WHERE space_id = ? AND principal_type = ? AND principal_id = ? AND deleted_rev IS NULL`,
			space, strings.ToLower(a.Principal.PrincipalType), a.Principal.PrincipalID)
		if err != nil {
			writeError(w, http.StatusInternalServerError, "INTERNAL_SERVER_ERROR", err.Error())
			return
		}
		for rows.Next() {
			var id string
			rows.Scan(&id)
			revoke = append(revoke, id)
		}
		rows.Close()
	}
	err := s.update(r, func(tx *embedded.Tx) error {
		for _, id := range revoke {
			if err := tx.RevokePermission(id); err != nil {
				return err
			}
		}
		for _, g := range grants {
			if g.op == "" {
				continue
			}
			id, err := tx.NewID("cloud-permission-")
			if err != nil {
				return err
			}
			if err := tx.GrantPermission(model.SpacePermission{ID: id, SpaceID: space, PrincipalType: g.ptype, PrincipalID: g.pid, Operation: g.op}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		writeError(w, http.StatusInternalServerError, "INTERNAL_SERVER_ERROR", "setting role assignments failed")
		return
	}
	s.mu.Lock()
	s.hiddenCache = nil
	s.mu.Unlock()
	results, err := s.assignments(space)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "INTERNAL_SERVER_ERROR", err.Error())
		return
	}
	writeList(w, r, results, "", false)
}
