package export

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"time"

	"ferry/cloud"
	"ferry/model"
)

type cloudContent struct {
	ID, Status, Title, SpaceID, ParentID, ParentType, AuthorID, CreatedAt string
	Type                                                                  string // folder, whiteboard, ...; "" for pages and blog posts
	Position                                                              int
	Version                                                               cloudVersion
	Body                                                                  struct {
		Storage struct{ Value string }
	}
}

// included is a list that GET /pages/{id} brings with include-*: its
// first 50, and whether there are more (v2 spec, PageSingle).
type included struct {
	Results []json.RawMessage
	Meta    struct{ HasMore bool }
}

// each walks the list: what was included, or, when there is more, the
// whole list from path.
func (l included) each(ctx context.Context, c *cloud.Client, path string, each func(json.RawMessage) error) error {
	if l.Meta.HasMore {
		return c.List(ctx, path, url.Values{"limit": {"250"}}, each)
	}
	for _, r := range l.Results {
		if err := each(r); err != nil {
			return err
		}
	}
	return nil
}

// detail is what one GET of a page or blog post brings besides itself.
type detail struct {
	Labels, Properties, Versions, Likes included
}

// detail reads a page's or blog post's labels, properties, versions and
// likes in one request.
func (s *CloudSource) detail(ctx context.Context, kind, id string) (*detail, error) {
	var d detail
	q := url.Values{"include-labels": {"true"}, "include-properties": {"true"}, "include-versions": {"true"}, "include-likes": {"true"}}
	if err := s.Client.Get(ctx, "/wiki/api/v2/"+kind+"/"+id, q, &d); err != nil {
		return nil, err
	}
	return &d, nil
}

type cloudVersion struct {
	Number    int
	CreatedAt string
	Message   string
	MinorEdit bool
	AuthorID  string
}

func cloudTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Unix(0, 0).UTC()
	}
	return t.UTC()
}

// content lists a space's pages or blog posts with their current bodies,
// which wait on disk (beside the record) until their turn.
func (s *CloudSource) content(ctx context.Context, kind, spaceID string, each func(*cloudContent) error) error {
	q := url.Values{"space-id": {spaceID}, "limit": {"250"}, "status": cloud.Statuses[kind], "body-format": {"storage"}}
	return s.Client.List(ctx, "/wiki/api/v2/"+kind, q, func(r json.RawMessage) error {
		var c cloudContent
		if err := json.Unmarshal(r, &c); err != nil {
			return err
		}
		if err := s.rec.keepCurrent(c.ID, c.Version.Number, c.Title, c.Body.Storage.Value); err != nil {
			return err
		}
		c.Body.Storage.Value = ""
		return each(&c)
	})
}

// versionList lists an entity's versions in version order.
func (s *CloudSource) versionList(ctx context.Context, kind, id string) ([]cloudVersion, error) {
	return s.versionsOf(ctx, kind, id, included{Meta: struct{ HasMore bool }{true}})
}

// versionsOf lists an entity's versions, in version order, from what a
// GET included.
func (s *CloudSource) versionsOf(ctx context.Context, kind, id string, inc included) ([]cloudVersion, error) {
	var vs []cloudVersion
	err := inc.each(ctx, s.Client, "/wiki/api/v2/"+kind+"/"+id+"/versions", func(r json.RawMessage) error {
		var v cloudVersion
		if err := json.Unmarshal(r, &v); err != nil {
			return err
		}
		vs = append(vs, v)
		return nil
	})
	sort.Slice(vs, func(i, j int) bool { return vs[i].Number < vs[j].Number })
	return vs, err
}

// after returns the versions numbered above done, and the highest number.
func after(vs []cloudVersion, done int) ([]cloudVersion, int) {
	var todo []cloudVersion
	for _, v := range vs {
		if v.Number > done {
			todo = append(todo, v)
		}
		done = max(done, v.Number)
	}
	return todo, done
}

// emitContent emits a space's pages (parents first) or blog posts, each
// followed by its versions with their bodies.
func (s *CloudSource) emitContent(ctx context.Context, kind string, sp cloudSpace, emit func(*model.Change) error) error {
	var items []cloudContent
	if err := s.content(ctx, kind, sp.ID, func(c *cloudContent) error { items = append(items, *c); return nil }); err != nil {
		return err
	}
	if kind == "pages" {
		var err error
		if items, err = s.folders(ctx, items, sp.Key, cloudTime(sp.CreatedAt), emit); err != nil {
			return err
		}
		items = parentsFirst(items)
	}
	created, version, typ := model.PageCreated, model.PageVersion, "page"
	if kind == "blogposts" {
		created, version, typ = model.BlogpostCreated, model.BlogpostVersion, "blogpost"
	}
	for _, c := range items {
		if c.Type == "folder" {
			if err := s.emitFolder(c, sp, emit); err != nil {
				return err
			}
			continue
		}
		content := &model.Content{ID: c.ID, Type: typ, SpaceID: sp.ID, ParentID: c.ParentID, Position: c.Position, Status: c.Status,
			CreatedAt: cloudTime(c.CreatedAt), Author: c.AuthorID}
		if err := emit(&model.Change{Type: created, ID: c.ID, Parent: c.ParentID, Space: sp.Key, At: content.CreatedAt, Actor: c.AuthorID, Payload: content}); err != nil {
			return err
		}
		d, err := s.detail(ctx, kind, c.ID)
		if err != nil {
			return err
		}
		done, err := s.rec.exported(typ, c.ID)
		if err != nil {
			return err
		}
		newest := done
		if done < c.Version.Number || c.Version.Number == 0 {
			var vs, todo []cloudVersion
			var cur *current
			vs, err = s.versionsOf(ctx, kind, c.ID, d.Versions)
			todo, newest = after(vs, done)
			if err == nil {
				cur, err = s.rec.current(c.ID)
			}
			if err == nil {
				err = inOrder(ctx, len(todo), func(ctx context.Context, i int) (*model.Version, error) {
					return s.version(ctx, kind, c.ID, &todo[i], cur)
				}, func(_ int, mv *model.Version) error {
					return emit(&model.Change{Type: version, ID: c.ID, Parent: c.ParentID, Space: sp.Key, At: mv.At, Actor: mv.Author, Payload: mv})
				})
			}
		}
		if err == nil {
			err = s.rec.sawVersions(typ, c.ID, newest)
		}
		if err != nil {
			return err
		}
		if err := s.labels(ctx, kind, c.ID, sp.Key, content.CreatedAt, d.Labels, emit); err != nil {
			return err
		}
		if err := s.restrictions(ctx, c.ID, sp.Key, content.CreatedAt, emit); err != nil {
			return err
		}
		if err := s.properties(ctx, kind, c.ID, sp.Key, content.CreatedAt, d.Properties, emit); err != nil {
			return err
		}
		// Cloud gives no time for a like: it is put at the content's creation.
		err = d.Likes.each(ctx, s.Client, "/wiki/api/v2/"+kind+"/"+c.ID+"/likes/users", func(r json.RawMessage) error {
			var l struct{ AccountID string }
			if err := json.Unmarshal(r, &l); err != nil || l.AccountID == "" {
				return err
			}
			like := &model.Like{ContainerID: c.ID, ContainerType: typ, AccountID: l.AccountID, At: content.CreatedAt}
			return emit(&model.Change{Type: model.LikeAdded, ID: c.ID + ":" + l.AccountID, Parent: c.ID, Space: sp.Key, At: like.At, Actor: l.AccountID, Payload: like})
		})
		if err != nil {
			return err
		}
		// Its comments and attachments come with the site's (siteComments,
		// siteAttachments).
		if err := s.rec.container(c.ID, sp.Key); err != nil {
			return err
		}
	}
	return nil
}

// version reads one version of a page or blog post with its body.
func (s *CloudSource) version(ctx context.Context, kind, id string, v *cloudVersion, cur *current) (*model.Version, error) {
	var at struct {
		Title string
		Body  struct {
			Storage struct{ Value string }
		}
	}
	if cur != nil && cur.number == v.Number { // it came with the list
		at.Title, at.Body.Storage.Value = cur.title, cur.body
	} else {
		q := url.Values{"body-format": {"storage"}, "version": {fmt.Sprint(v.Number)}}
		if err := s.Client.Get(ctx, "/wiki/api/v2/"+kind+"/"+id, q, &at); err != nil {
			return nil, err
		}
	}
	return &model.Version{ContentID: id, Number: v.Number, Title: at.Title, Body: at.Body.Storage.Value, Author: v.AuthorID,
		At: cloudTime(v.CreatedAt), Message: v.Message, MinorEdit: v.MinorEdit}, nil
}

// properties emits a page's or blog post's content properties, except the
// provenance ferry itself writes.
func (s *CloudSource) properties(ctx context.Context, kind, id, space string, at time.Time, inc included, emit func(*model.Change) error) error {
	return inc.each(ctx, s.Client, "/wiki/api/v2/"+kind+"/"+id+"/properties", func(r json.RawMessage) error {
		var p struct {
			Key     string
			Value   json.RawMessage
			Version struct{ Number int }
		}
		if err := json.Unmarshal(r, &p); err != nil {
			return err
		}
		if p.Key == "ferry.source" {
			return nil
		}
		prop := &model.Property{ContainerID: id, Key: p.Key, Value: p.Value, Version: max(p.Version.Number, 1)}
		return emit(&model.Change{Type: model.PropertySet, ID: id + ":" + p.Key, Parent: id, Space: space, At: at, Payload: prop})
	})
}

// labels emits a page's or blog post's labels.
func (s *CloudSource) labels(ctx context.Context, kind, id, space string, at time.Time, inc included, emit func(*model.Change) error) error {
	return inc.each(ctx, s.Client, "/wiki/api/v2/"+kind+"/"+id+"/labels", func(r json.RawMessage) error {
		var l struct{ Name, Prefix string }
		if err := json.Unmarshal(r, &l); err != nil {
			return err
		}
		label := &model.Label{ContainerID: id, Prefix: l.Prefix, Name: l.Name}
		return emit(&model.Change{Type: model.LabelAdded, ID: id + ":" + l.Prefix + ":" + l.Name, Parent: id, Space: space, At: at, Payload: label})
	})
}

// parentsFirst orders pages so that each comes after its parent; a page
// whose parent is not in the list comes with the roots.
func parentsFirst(items []cloudContent) []cloudContent {
	byID := map[string]int{}
	for i, c := range items {
		byID[c.ID] = i
	}
	children := map[string][]int{}
	var roots []int
	for i, c := range items {
		if _, ok := byID[c.ParentID]; ok && c.ParentID != c.ID {
			children[c.ParentID] = append(children[c.ParentID], i)
		} else {
			roots = append(roots, i)
		}
	}
	out := make([]cloudContent, 0, len(items))
	done := map[string]bool{}
	for len(roots) > 0 {
		i := roots[0]
		roots = roots[1:]
		if items[i].ParentID != "" {
			if _, ok := byID[items[i].ParentID]; !ok {
				items[i].ParentID = "" // its parent was not listed
			}
		}
		out = append(out, items[i])
		done[items[i].ID] = true
		roots = append(roots, children[items[i].ID]...)
	}
	// Pages in a parent cycle were never reached: they go to the root.
	for _, c := range items {
		if !done[c.ID] {
			c.ParentID = ""
			out = append(out, c)
		}
	}
	return out
}
