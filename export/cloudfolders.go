package export

import (
	"context"
	"fmt"
	"net/url"
	"time"

	"ferry/model"
)

// Cloud's page tree holds more than pages: a page's parent can be a
// folder, whiteboard, database or Smart Link (embed). Folders are copied:
// they join the tree, parents first with the pages. ferry copies none of
// the others; each one met is named in a source.skipped event, and the
// pages in it go under the nearest page or folder above it (or the
// space's root), so nothing is re-parented without a word. v2 lists none
// of these kinds: they are found through the pages in them.
var nodeReasons = map[string]struct{ class, path, reason string }{
	"folder":     {"Folder", "folders", ""},
	"whiteboard": {"Whiteboard", "whiteboards", "whiteboards are not copied: Cloud's REST API reads none of a whiteboard's content; the pages in one go under the nearest page or folder above it, or the space's root"},
	"database":   {"Database", "databases", "databases are not copied: Cloud's REST API reads none of a database's content; the pages in one go under the nearest page or folder above it, or the space's root"},
	"embed":      {"Smart Link", "embeds", "Smart Links in the page tree are not copied by this version of ferry: the pages under one go under the nearest page or folder above it, or the space's root"},
}

// node reads a folder, whiteboard, database or embed of the tree, once.
func (s *CloudSource) node(ctx context.Context, typ, id string) (*cloudContent, error) {
	key := typ + ":" + id
	if n, ok := s.nodes[key]; ok {
		return n, nil
	}
	r, ok := nodeReasons[typ]
	if !ok {
		return nil, fmt.Errorf("a page's parent is %s %s, a kind of content this version of ferry does not know: upgrade ferry", typ, id)
	}
	n := &cloudContent{}
	if err := s.Client.Get(ctx, "/wiki/api/v2/"+r.path+"/"+url.PathEscape(id), nil, n); err != nil {
		return nil, err
	}
	n.ID, n.Type = id, typ
	if s.nodes == nil {
		s.nodes = map[string]*cloudContent{}
	}
	s.nodes[key] = n
	return n, nil
}

// above follows a parent through the kinds ferry does not copy to the
// nearest page or folder (or the root), calling pass on each it passes.
func (s *CloudSource) above(ctx context.Context, id, typ string, pass func(*cloudContent) error) (string, string, error) {
	for seen := 0; id != "" && typ != "" && typ != "page" && typ != "folder"; seen++ {
		n, err := s.node(ctx, typ, id)
		if err != nil {
			return "", "", err
		}
		if seen > 100 {
			return "", "", fmt.Errorf("the page tree goes round in a circle at %s %s", n.Type, n.ID)
		}
		if pass != nil {
			if err := pass(n); err != nil {
				return "", "", err
			}
		}
		id, typ = n.ParentID, n.ParentType
	}
	if typ != "page" && typ != "folder" {
		return "", "", nil
	}
	return id, typ, nil
}

// folders adds to a space's pages the folders above them, each once, and
// gives every page and folder the nearest page or folder above it as its
// parent, naming each node of another kind it passes (once).
func (s *CloudSource) folders(ctx context.Context, items []cloudContent, space string, at time.Time, emit func(*model.Change) error) ([]cloudContent, error) {
	name := func(n *cloudContent) error {
		if s.named[n.Type+":"+n.ID] {
			return nil
		}
		if s.named == nil {
			s.named = map[string]bool{}
		}
		s.named[n.Type+":"+n.ID] = true
		r := nodeReasons[n.Type]
		skipped := &model.Skipped{Class: r.class, ID: n.ID, Objects: 1, Reason: r.reason}
		return emit(&model.Change{Type: model.SourceSkipped, ID: r.class + ":" + n.ID, Space: space, At: at, Payload: skipped})
	}
	added := map[string]bool{}
	for i := 0; i < len(items); i++ { // items grows as folders join
		c := &items[i]
		id, typ, err := s.above(ctx, c.ParentID, c.ParentType, name)
		if err != nil {
			return nil, err
		}
		c.ParentID, c.ParentType = id, typ
		if typ == "folder" && !added[id] {
			f, err := s.node(ctx, "folder", id)
			if err != nil {
				return nil, err
			}
			added[id] = true
			items = append(items, *f)
		}
	}
	return items, nil
}

// emitFolder writes a folder: its place, and its title as Cloud numbers
// its version (v2 reads no earlier titles of a folder).
func (s *CloudSource) emitFolder(c cloudContent, sp cloudSpace, emit func(*model.Change) error) error {
	folder := &model.Content{ID: c.ID, Type: "folder", SpaceID: sp.ID, ParentID: c.ParentID, Position: c.Position, Status: c.Status,
		CreatedAt: cloudTime(c.CreatedAt), Author: c.AuthorID}
	if folder.Status == "" {
		folder.Status = "current"
	}
	if err := emit(&model.Change{Type: model.FolderCreated, ID: c.ID, Parent: c.ParentID, Space: sp.Key, At: folder.CreatedAt, Actor: c.AuthorID, Payload: folder}); err != nil {
		return err
	}
	done, err := s.rec.exported("folder", c.ID)
	if err != nil {
		return err
	}
	number := max(c.Version.Number, 1)
	if done < number {
		at := cloudTime(c.Version.CreatedAt)
		if c.Version.CreatedAt == "" {
			at = folder.CreatedAt
		}
		v := &model.Version{ContentID: c.ID, Number: number, Title: c.Title, At: at}
		if err := emit(&model.Change{Type: model.FolderVersion, ID: c.ID, Parent: c.ParentID, Space: sp.Key, At: at, Payload: v}); err != nil {
			return err
		}
	}
	return s.rec.sawVersions("folder", c.ID, number)
}
