package export

import (
	"context"
	"encoding/json"
	"net/url"
	"time"

	"ferry/model"
)

// restrictions emits a page's or blog post's read and update restrictions
// (v1: v2 has none).
func (s *CloudSource) restrictions(ctx context.Context, id, space string, at time.Time, emit func(*model.Change) error) error {
	var byOp v1Restrictions
	raw, err := s.rec.restrictionsOf(id)
	switch {
	case err != nil:
		return err
	case raw != nil: // the space's list brought them
		err = json.Unmarshal(raw, &byOp)
	default:
		err = s.Client.Get(ctx, "/wiki/rest/api/content/"+id+"/restriction/byOperation", nil, &byOp)
	}
	if err != nil {
		return err
	}
	for _, op := range []string{"read", "update"} {
		r := byOp[op].Restrictions
		var principals [][2]string
		for _, u := range r.User.Results {
			principals = append(principals, [2]string{"user", u.AccountID})
		}
		for _, g := range r.Group.Results {
			principals = append(principals, [2]string{"group", g.ID})
		}
		for _, p := range principals {
			rest := &model.Restriction{ContainerID: id, Operation: op, PrincipalType: p[0], PrincipalID: p[1]}
			if err := emit(&model.Change{Type: model.RestrictionAdded, ID: id + ":" + op + ":" + p[0] + ":" + p[1], Parent: id, Space: space, At: at, Payload: rest}); err != nil {
				return err
			}
		}
	}
	return nil
}

// v1Restrictions is content's restrictions by operation (v1).
type v1Restrictions map[string]struct {
	Restrictions struct {
		User, Group v1Principals
	}
}

// v1Principals is one operation's users or groups: a v1 list, which an
// expansion may cut short.
type v1Principals struct {
	Results []struct{ AccountID, ID string }
	Size    int
	Limit   int
	Links   struct{ Next string } `json:"_links"`
}

// whole reports whether the list holds all there is.
func (p v1Principals) whole() bool {
	return p.Links.Next == "" && len(p.Results) == p.Size && (p.Limit == 0 || p.Size < p.Limit)
}

// spaceRestrictions reads the restrictions of a space's current pages or
// blog posts in bulk, through v1's space content list with restrictions
// expanded (v2 has none), and keeps each whole answer for restrictions to
// use: one request per 100 pages rather than one per page. What the list
// leaves out (archived pages) or cuts short is read page by page.
func (s *CloudSource) spaceRestrictions(ctx context.Context, key, kind string) error {
	q := url.Values{"depth": {"all"}, "limit": {"100"},
		"expand": {"restrictions.read.restrictions.user,restrictions.read.restrictions.group,restrictions.update.restrictions.user,restrictions.update.restrictions.group"}}
	return s.Client.List(ctx, "/wiki/rest/api/space/"+url.PathEscape(key)+"/content/"+kind, q, func(r json.RawMessage) error {
		var c struct {
			ID           string
			Restrictions json.RawMessage
		}
		if err := json.Unmarshal(r, &c); err != nil {
			return err
		}
		var byOp v1Restrictions
		if len(c.Restrictions) == 0 || json.Unmarshal(c.Restrictions, &byOp) != nil {
			return nil
		}
		for _, op := range []string{"read", "update"} {
			rs, ok := byOp[op]
			if !ok || !rs.Restrictions.User.whole() || !rs.Restrictions.Group.whole() {
				return nil
			}
		}
		return s.rec.keepRestrictions(c.ID, c.Restrictions)
	})
}
