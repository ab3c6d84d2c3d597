package export

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"

	"ferry/model"
)

type cloudSpace struct {
	ID, Key, Name, Type, Status, AuthorID, CreatedAt, HomepageID string
	Description                                                  struct {
		Plain struct{ Value string }
	}
}

// emitSpace emits a space, its permissions, its page tree (parents
// first) and its blog posts.
func (s *CloudSource) emitSpace(ctx context.Context, sp cloudSpace, emit func(*model.Change) error) error {
	space := &model.Space{ID: sp.ID, Key: sp.Key, Name: sp.Name, Type: sp.Type, Status: sp.Status, Description: sp.Description.Plain.Value,
		Homepage: sp.HomepageID, CreatedAt: cloudTime(sp.CreatedAt), Author: sp.AuthorID,
		Categories: []string{}, Settings: map[string]string{}, LookAndFeel: map[string]string{}, Templates: []model.Template{}}
	if space.Type != "personal" {
		space.Type = "global"
	}
	if space.Status != "archived" {
		space.Status = "current"
	}
	if err := emit(&model.Change{Type: model.SpaceCreated, ID: sp.ID, Space: sp.Key, At: space.CreatedAt, Actor: sp.AuthorID, Payload: space}); err != nil {
		return err
	}
	err := s.permissions(ctx, sp.ID, func(p *cloudPermission) error {
		if p.Principal.Type != "user" && p.Principal.Type != "group" {
			return nil // roles: not in ferry's model
		}
		perm := &model.SpacePermission{ID: p.ID, SpaceID: sp.ID, PrincipalType: p.Principal.Type, PrincipalID: p.Principal.ID,
			Operation: p.Operation.Key + ":" + p.Operation.TargetType}
		return emit(&model.Change{Type: model.SpacePermissionGranted, ID: p.ID, Parent: sp.ID, Space: sp.Key, At: space.CreatedAt, Payload: perm})
	})
	if err != nil {
		return err
	}
	for _, kind := range []string{"pages", "blogposts"} {
		if err := s.spaceRestrictions(ctx, sp.Key, strings.TrimSuffix(kind, "s")); err != nil {
			return err
		}
		if err := s.emitContent(ctx, kind, sp, emit); err != nil {
			return err
		}
	}
	return nil
}

// principalUser is a principal's account id if it is a user.
func principalUser(typ, id string) string {
	if typ == "user" {
		return id
	}
	return ""
}

type cloudPermission struct {
	ID        string
	Principal struct{ Type, ID string }
	Operation struct{ Key, TargetType string }
}

func (s *CloudSource) permissions(ctx context.Context, spaceID string, each func(*cloudPermission) error) error {
	return s.Client.List(ctx, "/wiki/api/v2/spaces/"+spaceID+"/permissions", url.Values{"limit": {"250"}}, func(r json.RawMessage) error {
		var p cloudPermission
		if err := json.Unmarshal(r, &p); err != nil {
			return err
		}
		return each(&p)
	})
}
