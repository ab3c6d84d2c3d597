package sandbox

import (
	"net/http"
	"strconv"

	"ferry/embedded"
	"ferry/model"
)

// Groups, memberships and space permissions written through v1.

func init() {
	extra = append(extra, func(s *Server) {
		s.handle("POST /wiki/rest/api/group", s.createGroup)
		s.handle("GET /wiki/rest/api/group/by-name", s.groupByName)
		s.handle("POST /wiki/rest/api/group/userByGroupId", s.addMember)
		s.handle("POST /wiki/rest/api/space/{key}/permission", s.grantPermission)
	})
}

func (s *Server) createGroup(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name string `json:"name"`
	}
	if !readBody(w, r, &req) {
		return
	}
	if req.Name == "" {
		writeV1Error(w, http.StatusBadRequest, "a group needs a name")
		return
	}
	if _, taken := s.one(`SELECT id FROM groups WHERE lower(name) = lower(?) AND deleted_rev IS NULL`, req.Name); taken {
		writeV1Error(w, http.StatusBadRequest, "A group with name "+req.Name+" already exists")
		return
	}
	var id string
	err := s.update(r, func(tx *embedded.Tx) error {
		var err error
		if id, err = tx.NewID("cloud-group-"); err != nil {
			return err
		}
		return tx.CreateGroup(model.Group{ID: id, Name: req.Name})
	})
	if err != nil {
		writeV1Error(w, http.StatusInternalServerError, "create group failed")
		return
	}
	writeJSONStatus(w, http.StatusCreated, map[string]any{"type": "group", "name": req.Name, "id": id})
}

func (s *Server) groupByName(w http.ResponseWriter, r *http.Request) {
	id, ok := s.one(`SELECT id FROM groups WHERE lower(name) = lower(?) AND deleted_rev IS NULL`, r.URL.Query().Get("name"))
	if !ok {
		writeV1Error(w, http.StatusNotFound, "No group named "+r.URL.Query().Get("name"))
		return
	}
	name, _ := s.one(`SELECT name FROM groups WHERE id = ?`, id)
	writeJSON(w, map[string]any{"type": "group", "name": name, "id": id})
}

// addMember adds a site user to a group; adding a member again changes
// nothing.
func (s *Server) addMember(w http.ResponseWriter, r *http.Request) {
	var req struct {
		AccountID string `json:"accountId"`
	}
	if !readBody(w, r, &req) {
		return
	}
	group := r.URL.Query().Get("groupId")
	if _, ok := s.one(`SELECT id FROM groups WHERE id = ? AND deleted_rev IS NULL`, group); !ok {
		writeV1Error(w, http.StatusNotFound, "No group with id "+group)
		return
	}
	if _, ok := s.one(`SELECT account_id FROM users WHERE account_id = ?`, req.AccountID); !ok {
		writeV1Error(w, http.StatusNotFound, "No user with account id "+req.AccountID+" on this site")
		return
	}
	if s.refuseWithoutAccess(w, r, req.AccountID) {
		return
	}
	if _, member := s.one(`SELECT account_id FROM memberships WHERE group_id = ? AND account_id = ? AND deleted_rev IS NULL`, group, req.AccountID); !member {
		if err := s.update(r, func(tx *embedded.Tx) error {
			return tx.AddMembership(model.Membership{GroupID: group, AccountID: req.AccountID})
		}); err != nil {
			writeV1Error(w, http.StatusInternalServerError, "add member failed")
			return
		}
	}
	w.WriteHeader(http.StatusCreated)
}

// grantOperations are what v1's POST /space/{key}/permission may grant
// (v1 spec, SpacePermissionRequest).
var grantOperations = map[string]bool{
	"create:page": true, "create:blogpost": true, "create:comment": true, "create:attachment": true, "read:space": true,
	"delete:page": true, "delete:blogpost": true, "delete:comment": true, "delete:attachment": true, "delete:space": true,
	"export:space": true, "administer:space": true, "archive:page": true, "restrict_content:space": true,
}

func (s *Server) grantPermission(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Subject struct {
			Type       string `json:"type"`
			Identifier string `json:"identifier"`
		} `json:"subject"`
		Operation struct {
			Key    string `json:"key"`
			Target string `json:"target"`
		} `json:"operation"`
	}
	if !readBody(w, r, &req) {
		return
	}
	space, ok := s.one(`SELECT id FROM spaces WHERE key = ? AND deleted_rev IS NULL`, r.PathValue("key"))
	if !ok {
		writeV1Error(w, http.StatusNotFound, "No space with key "+r.PathValue("key"))
		return
	}
	if req.Subject.Type != "user" && req.Subject.Type != "group" || req.Operation.Key == "" || req.Operation.Target == "" {
		writeV1Error(w, http.StatusBadRequest, "subject type must be user or group, and operation needs a key and a target")
		return
	}
	if s.Roles {
		writeV1Error(w, http.StatusBadRequest, "This site manages space access with roles: assign roles at /wiki/api/v2/spaces/{id}/role-assignments")
		return
	}
	op := req.Operation.Key + ":" + req.Operation.Target
	if !grantOperations[op] {
		writeV1Error(w, http.StatusBadRequest, "operation "+op+" is not one a space permission may have")
		return
	}
	if req.Subject.Type == "user" && s.refuseWithoutAccess(w, r, req.Subject.Identifier) {
		return
	}
	if req.Subject.Type == "group" { // named by id or by name
		if id, ok := s.one(`SELECT id FROM groups WHERE (id = ? OR name = ?) AND deleted_rev IS NULL`, req.Subject.Identifier, req.Subject.Identifier); ok {
			req.Subject.Identifier = id
		} else {
			writeV1Error(w, http.StatusBadRequest, "No group found with the given groupName or groupId: "+req.Subject.Identifier)
			return
		}
	}
	if _, reads := s.one(`SELECT id FROM space_permissions WHERE space_id = ? AND principal_type = ? AND principal_id = ? AND operation = 'read:space' AND deleted_rev IS NULL`,
		space, req.Subject.Type, req.Subject.Identifier); !reads && op != "read:space" {
		writeV1Error(w, http.StatusBadRequest, "'read space' permission doesn't exist for the given user or group")
		return
	}
	if _, dup := s.one(`SELECT id FROM space_permissions WHERE space_id = ? AND principal_type = ? AND principal_id = ? AND operation = ? AND deleted_rev IS NULL`,
		space, req.Subject.Type, req.Subject.Identifier, op); dup {
		writeV1Error(w, http.StatusBadRequest, "Permission already exists")
		return
	}
	var id string
	err := s.update(r, func(tx *embedded.Tx) error {
		var err error
		if id, err = tx.NewID("cloud-permission-"); err != nil {
			return err
		}
		return tx.GrantPermission(model.SpacePermission{ID: id, SpaceID: space, PrincipalType: req.Subject.Type, PrincipalID: req.Subject.Identifier, Operation: op})
	})
	if err != nil {
		writeV1Error(w, http.StatusInternalServerError, "grant failed")
		return
	}
	n, _ := strconv.ParseInt(numericID(id), 10, 64)
	writeJSON(w, map[string]any{"id": n, "subject": req.Subject, "operation": req.Operation, "_links": map[string]any{}})
}

func init() {
	extra = append(extra, func(s *Server) {
		s.handle("PUT /wiki/rest/api/content/{id}/restriction/byOperation/{op}/user", s.restrictUser)
		s.handle("PUT /wiki/rest/api/content/{id}/restriction/byOperation/{op}/byGroupId/{groupId}", s.restrictGroup)
		s.handle("GET /wiki/rest/api/content/{id}/restriction/byOperation/{op}/user", s.restricted("user"))
		s.handle("GET /wiki/rest/api/content/{id}/restriction/byOperation/{op}/byGroupId/{groupId}", s.restricted("group"))
	})
}

// restricted answers whether a restriction applies to a user or group:
// 200 with an empty body if it does, 404 if not, or if the content, the
// operation or the principal is unknown (v1 getContentRestrictionStatus*).
func (s *Server) restricted(principalType string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		principal := r.URL.Query().Get("accountId")
		if principalType == "group" {
			principal = r.PathValue("groupId")
		}
		container, ok := s.one(`SELECT id FROM content WHERE rowid = ? AND deleted_rev IS NULL`, r.PathValue("id"))
		if ok {
			_, ok = s.one(`SELECT principal_id FROM restrictions WHERE container_id = ? AND operation = ? AND principal_type = ? AND principal_id = ? AND deleted_rev IS NULL`,
				container, r.PathValue("op"), principalType, principal)
		}
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		w.WriteHeader(http.StatusOK)
	}
}

func (s *Server) restrictUser(w http.ResponseWriter, r *http.Request) {
	s.restrict(w, r, "user", r.URL.Query().Get("accountId"))
}

func (s *Server) restrictGroup(w http.ResponseWriter, r *http.Request) {
	s.restrict(w, r, "group", r.PathValue("groupId"))
}

// restrict adds a read or update restriction; adding one that is there
// changes nothing.
func (s *Server) restrict(w http.ResponseWriter, r *http.Request, principalType, principal string) {
	op := r.PathValue("op")
	container, ok := s.one(`SELECT id FROM content WHERE rowid = ? AND deleted_rev IS NULL`, r.PathValue("id"))
	switch {
	case !ok:
		writeV1Error(w, http.StatusNotFound, "No content with id "+r.PathValue("id"))
		return
	case op != "read" && op != "update":
		writeV1Error(w, http.StatusBadRequest, "operationKey must be read or update")
		return
	}
	table := map[string]string{"user": `SELECT account_id FROM users WHERE account_id = ?`, "group": `SELECT id FROM groups WHERE id = ? AND deleted_rev IS NULL`}[principalType]
	if _, exists := s.one(table, principal); !exists {
		writeV1Error(w, http.StatusNotFound, "No "+principalType+" "+principal)
		return
	}
	if principalType == "user" && s.refuseWithoutAccess(w, r, principal) {
		return
	}
	if _, dup := s.one(`SELECT principal_id FROM restrictions WHERE container_id = ? AND operation = ? AND principal_type = ? AND principal_id = ? AND deleted_rev IS NULL`,
		container, op, principalType, principal); !dup {
		err := s.update(r, func(tx *embedded.Tx) error {
			return tx.AddRestriction(model.Restriction{ContainerID: container, Operation: op, PrincipalType: principalType, PrincipalID: principal})
		})
		if err != nil {
			writeV1Error(w, http.StatusInternalServerError, "restrict failed")
			return
		}
	}
	w.WriteHeader(http.StatusOK)
}
