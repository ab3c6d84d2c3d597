package sandbox

import (
	"context"
	"fmt"
	"net/http"
)

// Cloud's page tree holds more than pages: a page's parentType can be
// page, folder, whiteboard, database or embed (v2 spec,
// ParentContentType), and each of those has its own GET /{kind}s/{id}.
// The embedded site holds pages and folders, so the sandbox lays the
// other kinds over it: a Node shows in a space's tree, and the pages
// placed in it answer it as their parent.

// Node is a whiteboard, database or Smart Link (embed) in a space's tree.
// (Folders are the site's own: folders.go.)
type Node struct {
	ID         string // numeric, unlike any page's
	Type       string // whiteboard, database, embed
	Title      string
	Space      string // the space's id as the API shows it
	ParentID   string // a page's id or another node's; "" at the space's root
	ParentType string // page, or the other node's type
	URL        string // an embed's embedUrl
}

// NodeKinds maps each kind of node to its collection's path.
var NodeKinds = map[string]string{"whiteboard": "whiteboards", "database": "databases", "embed": "embeds"}

func init() {
	extra = append(extra, func(s *Server) {
		for kind, path := range NodeKinds {
			s.handle("GET /wiki/api/v2/"+path+"/{id}", s.node(kind))
		}
	})
}

// AddNode lays n over the site and places pages (ids as the API shows
// them) directly in it.
func (s *Server) AddNode(n Node, pages ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.nodes == nil {
		s.nodes, s.placed = map[string]Node{}, map[string]string{}
	}
	s.nodes[n.ID] = n
	for _, p := range pages {
		s.placed[p] = n.ID
	}
}

// overlay lays over content's answer what the sandbox keeps beside the
// site: a page's parent, when it was placed in a node, and its owner,
// when ownership was transferred (write.go).
func (s *Server) overlay(v map[string]any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, _ := v["id"].(string)
	if n, ok := s.nodes[s.placed[id]]; ok {
		v["parentId"], v["parentType"] = n.ID, n.Type
	}
	if owner, ok := s.owners[id]; ok {
		v["ownerId"] = owner
	}
}

func (s *Server) node(kind string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		n, ok := s.nodes[r.PathValue("id")]
		s.mu.Unlock()
		if hid := s.hidden(r); !ok || n.Type != kind || hid != nil && hid.spaces[n.Space] {
			writeError(w, http.StatusNotFound, "NOT_FOUND", "Not Found")
			return
		}
		v := map[string]any{"id": n.ID, "type": n.Type, "status": "current", "title": n.Title, "spaceId": n.Space,
			"authorId": CallerAccount, "ownerId": CallerAccount, "createdAt": "2025-01-01T00:00:00.000Z",
			"version":  map[string]any{"number": 1, "createdAt": "2025-01-01T00:00:00.000Z", "message": "", "minorEdit": false, "authorId": CallerAccount},
			"position": 0, "_links": map[string]any{"webui": "/spaces/" + n.Space + "/" + NodeKinds[n.Type] + "/" + n.ID, "base": siteBase(r)}}
		if n.ParentID != "" {
			v["parentId"], v["parentType"] = n.ParentID, n.ParentType
		}
		if n.Type == "embed" {
			v["embedUrl"] = n.URL
		}
		writeJSON(w, v)
	}
}

// LayNodes lays one node of each kind over a site's first space, for
// tests and rehearsals: a whiteboard holding a top-level page (in the
// space's first folder, if it has one, else at the root), a database at
// the root holding another, and a Smart Link under a page holding one of
// its children. Each moves the pages in it, with their subtrees.
func (s *Server) LayNodes(ctx context.Context) ([]Node, error) {
	db := s.site.DB()
	var space, spaceID string
	if err := db.QueryRowContext(ctx, `SELECT rowid, id FROM spaces WHERE deleted_rev IS NULL ORDER BY rowid LIMIT 1`).Scan(&space, &spaceID); err != nil {
		return nil, fmt.Errorf("lay nodes: no space: %w", err)
	}
	var tops []string
	rows, err := db.QueryContext(ctx, `SELECT rowid FROM content WHERE space_id = ? AND type = 'page' AND parent_id IS NULL
		AND deleted_rev IS NULL AND status = 'current' ORDER BY rowid LIMIT 2`, spaceID)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var id string
		rows.Scan(&id)
		tops = append(tops, id)
	}
	rows.Close()
	var child, parent string
	err = db.QueryRowContext(ctx, `SELECT c.rowid, p.rowid FROM content c JOIN content p ON p.id = c.parent_id
		WHERE c.space_id = ? AND c.type = 'page' AND c.deleted_rev IS NULL AND c.status = 'current' ORDER BY c.rowid DESC LIMIT 1`, spaceID).Scan(&child, &parent)
	if err != nil || len(tops) < 2 {
		return nil, fmt.Errorf("lay nodes: space %s has too few pages (%d at its root)", space, len(tops))
	}
	var folder string
	db.QueryRowContext(ctx, `SELECT rowid FROM content WHERE space_id = ? AND type = 'folder' AND deleted_rev IS NULL ORDER BY rowid LIMIT 1`, spaceID).Scan(&folder)
	nodes := []Node{
		{ID: "9000002", Type: "whiteboard", Title: "Planning board", Space: space},
		{ID: "9000003", Type: "database", Title: "Release tracker", Space: space},
		{ID: "9000004", Type: "embed", Title: "Design file", Space: space, ParentID: parent, ParentType: "page", URL: "https://www.example.com/design"},
	}
	if folder != "" {
		nodes[0].ParentID, nodes[0].ParentType = folder, "folder"
	}
	s.AddNode(nodes[0], tops[0])
	s.AddNode(nodes[1], tops[1])
	s.AddNode(nodes[2], child)
	return nodes, nil
}
