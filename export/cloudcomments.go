package export

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"ferry/cloud"
	"ferry/model"
)

type cloudComment struct {
	ID, Status                          string
	PageID, BlogPostID, ParentCommentID string
	Version                             cloudVersion
	Body                                struct {
		Storage struct{ Value string }
	}
	Properties struct {
		InlineMarkerRef, InlineOriginalSelection string
	}
	loc string // footer or inline
}

// siteComments emits the footer and inline comments of the pages and blog
// posts exported, read from the site's lists (v2: GET /footer-comments,
// GET /inline-comments) in one pass with their current bodies. They wait
// on disk to be emitted each after its parent.
func (s *CloudSource) siteComments(ctx context.Context, emit func(*model.Change) error) error {
	for _, loc := range []string{"footer", "inline"} {
		q := url.Values{"limit": {"250"}, "body-format": {"storage"}, "sort": {"created-date"}}
		err := s.Client.List(ctx, "/wiki/api/v2/"+loc+"-comments", q, func(r json.RawMessage) error {
			var c cloudComment
			if err := json.Unmarshal(r, &c); err != nil {
				return err
			}
			return s.rec.keepComment(c.ID, loc, cmp.Or(c.PageID, c.BlogPostID), c.ParentCommentID, r)
		})
		if err != nil {
			return err
		}
	}
	err := s.rec.comments(func(raw []byte, loc, container, parent, space string) error {
		var c cloudComment
		if err := json.Unmarshal(raw, &c); err != nil {
			return err
		}
		c.loc = loc
		return s.emitComment(ctx, &c, container, parent, space, emit)
	})
	if err != nil {
		return err
	}
	// A reply that cannot be placed is named, not dropped unseen.
	return s.rec.stranded(func(raw []byte, loc, parent, space string) error {
		var c cloudComment
		if err := json.Unmarshal(raw, &c); err != nil {
			return err
		}
		skipped := &model.Skipped{Class: "Comment", ID: c.ID, Objects: 1, Reason: fmt.Sprintf("a reply among the site's %s comments whose parent comment (%s) is not among them: "+
			"a reply of another kind than its thread, or to a comment the account may not see; it cannot be placed, and is not exported", loc, parent)}
		return emit(&model.Change{Type: model.SourceSkipped, ID: "Comment:" + c.ID, Space: space, At: cloudTime(c.Version.CreatedAt), Payload: skipped})
	})
}

func (s *CloudSource) emitComment(ctx context.Context, c *cloudComment, container, parent, space string, emit func(*model.Change) error) error {
	if same, err := s.rec.unchanged("comment", c.ID, c.Version.Number); same || err != nil {
		return err
	}
	done, err := s.rec.exported("comment", c.ID)
	if err != nil {
		return err
	}
	// A comment's versions are numbered 1 to its current one: each older
	// one read brings its own author and time, and a comment new to the
	// record needs no list of them. If one is missing, the list is read.
	var vs []cloudVersion
	bodies := map[int]string{c.Version.Number: c.Body.Storage.Value} // the list brought the current one
	if done == 0 && c.Version.Number > 1 {
		vs, err = s.olderComments(ctx, c, bodies)
		if err != nil {
			return err
		}
	}
	if vs == nil {
		vs = []cloudVersion{c.Version}
		if c.Version.Number > 1 {
			if vs, err = s.versionList(ctx, c.loc+"-comments", c.ID); err != nil || len(vs) == 0 {
				return err
			}
		}
	}
	todo, newest := after(vs, done)
	status := c.Status
	if status == "" {
		status = "current"
	}
	cm := &model.Comment{ID: c.ID, ContainerID: container, ParentID: parent, Location: c.loc, Status: status,
		Author: vs[0].AuthorID, CreatedAt: cloudTime(vs[0].CreatedAt)}
	if c.loc == "inline" && parent == "" {
		cm.Anchor = &model.InlineAnchor{Selection: c.Properties.InlineOriginalSelection, MarkerRef: c.Properties.InlineMarkerRef}
		// Which occurrence of the selection it is: those before its marker
		// in the page's current body.
		if cur, err := s.rec.current(container); err != nil {
			return err
		} else if cur != nil {
			cm.Anchor.MatchIndex = model.MatchIndex(cur.body, c.Properties.InlineMarkerRef, c.Properties.InlineOriginalSelection)
		}
	}
	if err := emit(&model.Change{Type: model.CommentCreated, ID: c.ID, Parent: container, Space: space, At: cm.CreatedAt, Actor: cm.Author, Payload: cm}); err != nil {
		return err
	}
	err = inOrder(ctx, len(todo), func(ctx context.Context, i int) (*model.Version, error) {
		v := &todo[i]
		body, ok := bodies[v.Number]
		if !ok {
			at, err := s.commentAt(ctx, c, v.Number)
			if err != nil {
				return nil, err
			}
			body = at.Body.Storage.Value
		}
		return &model.Version{ContentID: c.ID, Number: v.Number, Body: body, Author: v.AuthorID, At: cloudTime(v.CreatedAt)}, nil
	}, func(_ int, mv *model.Version) error {
		return emit(&model.Change{Type: model.CommentVersion, ID: c.ID, Parent: container, Space: space, At: mv.At, Actor: mv.Author, Payload: mv})
	})
	if err != nil {
		return err
	}
	return s.rec.sawVersions("comment", c.ID, newest)
}

// commentAt reads a comment at one of its versions.
func (s *CloudSource) commentAt(ctx context.Context, c *cloudComment, number int) (*cloudComment, error) {
	var at cloudComment
	q := url.Values{"body-format": {"storage"}, "version": {fmt.Sprint(number)}}
	if err := s.Client.Get(ctx, "/wiki/api/v2/"+c.loc+"-comments/"+c.ID, q, &at); err != nil {
		return nil, err
	}
	return &at, nil
}

// olderComments reads a comment's versions before its current one, 1 on,
// keeping their bodies; nil if one of them is not there (404), for the
// caller to read the list of versions instead.
func (s *CloudSource) olderComments(ctx context.Context, c *cloudComment, bodies map[int]string) ([]cloudVersion, error) {
	vs := make([]cloudVersion, c.Version.Number)
	vs[c.Version.Number-1] = c.Version
	err := inOrder(ctx, c.Version.Number-1, func(ctx context.Context, i int) (*cloudComment, error) {
		return s.commentAt(ctx, c, i+1)
	}, func(i int, at *cloudComment) error {
		if at.Version.Number != i+1 {
			return errMissingVersion
		}
		vs[i], bodies[i+1] = at.Version, at.Body.Storage.Value
		return nil
	})
	var api *cloud.APIError
	if errors.Is(err, errMissingVersion) || (errors.As(err, &api) && api.Status == http.StatusNotFound) {
		return nil, nil
	}
	return vs, err
}

var errMissingVersion = errors.New("a version is not where its number says")
