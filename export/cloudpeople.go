package export

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"sort"
	"time"

	"ferry/cloud"
	"ferry/model"
)

// apps emits the apps users installed. Only site admins may list them;
// for anyone else it returns why, for the archive to say they could not
// be listed (so the destination's preflight cannot compare them).
func (s *CloudSource) apps(ctx context.Context, at time.Time, emit func(*model.Change) error) (unlisted string, err error) {
	apps, err := s.Client.Apps(ctx)
	var apiErr *cloud.APIError
	if errors.As(err, &apiErr) && (apiErr.Status == 401 || apiErr.Status == 403 || apiErr.Status == 404) {
		return "the installed apps could not be listed (" + err.Error() + "): export as a site admin, or compare the sites' apps by hand", nil
	}
	if err != nil {
		return "", err
	}
	for _, a := range apps {
		app := &model.App{Key: a.Key, Name: a.Name, Vendor: a.Vendor, Version: a.Version}
		if err := emit(&model.Change{Type: model.AppInstalled, ID: a.Key, At: at, Payload: app}); err != nil {
			return "", err
		}
	}
	return "", nil
}

// users reads the accounts that wrote content, 100 at a time.
func (s *CloudSource) users(ctx context.Context, ids map[string]bool, at time.Time, emit func(*model.Change) error) error {
	list := make([]string, 0, len(ids))
	for id := range ids {
		list = append(list, id)
	}
	sort.Strings(list)
	for start := 0; start < len(list); start += 100 {
		var page struct {
			Results []struct {
				AccountID, Email, DisplayName, AccountStatus, AccountType string
			}
		}
		if err := s.Client.PostRepeatable(ctx, "/wiki/api/v2/users-bulk", map[string]any{"accountIds": list[start:min(start+100, len(list))]}, &page); err != nil {
			return err
		}
		for _, u := range page.Results {
			status := map[string]string{"active": "active", "inactive": "inactive", "closed": "deleted"}[u.AccountStatus]
			if status == "" {
				status = "active"
			}
			if u.AccountType == "" {
				u.AccountType = "atlassian"
			}
			// An empty email of a person's account is one their profile
			// hides (v2 spec, User.email): kept as such, by account id.
			user := &model.User{AccountID: u.AccountID, Email: u.Email, DisplayName: u.DisplayName, Status: status, AccountType: u.AccountType,
				EmailHidden: u.Email == "" && u.AccountType == "atlassian"}
			if err := emit(&model.Change{Type: model.UserCreated, ID: u.AccountID, At: at, Payload: user}); err != nil {
				return err
			}
		}
	}
	return nil
}

// members lists a group's members (v1: v2 has no groups).
func (s *CloudSource) members(ctx context.Context, groupID string, each func(account string) error) error {
	return s.Client.List(ctx, "/wiki/rest/api/group/"+url.PathEscape(groupID)+"/membersByGroupId", url.Values{"limit": {"200"}}, func(r json.RawMessage) error {
		var m struct{ AccountID string }
		if err := json.Unmarshal(r, &m); err != nil {
			return err
		}
		return each(m.AccountID)
	})
}

// groups emits the groups that permissions name, with their members.
// Their time is the export's earliest, set when they are replayed.
func (s *CloudSource) groups(ctx context.Context, ids []string, names map[string]string, emit func(*model.Change) error) error {
	var at time.Time
	for _, id := range ids {
		g := struct{ Name, ID string }{Name: names[id]}
		if g.Name == "" { // named by a permission, not in the list
			if err := s.Client.Get(ctx, "/wiki/rest/api/group/by-id", url.Values{"id": {id}}, &g); err != nil {
				return err
			}
		}
		if err := emit(&model.Change{Type: model.GroupCreated, ID: id, At: at, Payload: &model.Group{ID: id, Name: g.Name}}); err != nil {
			return err
		}
		err := s.members(ctx, id, func(account string) error {
			m := &model.Membership{GroupID: id, AccountID: account}
			return emit(&model.Change{Type: model.MembershipAdded, ID: id + ":" + account, Parent: id, At: at, Payload: m})
		})
		if err != nil {
			return err
		}
	}
	return nil
}
