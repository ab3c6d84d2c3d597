package export

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"time"

	"ferry/archive"
	"ferry/cloud"
	"ferry/model"
)

// CloudSource reads a Confluence Cloud site through its REST API (v2):
// the users who wrote its content, its spaces, its pages and blog posts
// with every version, their footer and inline comments, labels,
// properties, restrictions and attachments with every version's bytes.
// What this version does not read yet is recorded as source.skipped
// events, so inspect shows it.
//
// Changes, below, is the one place that decides what is read in which
// order; the reading itself is in a file per concern: cloudspaces.go,
// cloudpeople.go, cloudcontent.go, cloudfolders.go, cloudcomments.go,
// cloudattachments.go and cloudrestrictions.go.
type CloudSource struct {
	Client   *cloud.Client
	site     string
	tmp      string // downloaded attachment versions and the record, by digest, until export takes them
	previous func(digest string) (io.ReadCloser, error)
	rec      *recorder
	nodes    map[string]*cloudContent // folders, whiteboards, ... met in the page tree, by kind:id
	named    map[string]bool          // those of them named as not copied
	// limits says why the export does not see everything: it has no admin
	// key (see cloud/adminkey.go). "" when it has one.
	limits string
}

// UsePrevious lets an incremental export read the previous archive's
// record of the site (see record.go).
func (s *CloudSource) UsePrevious(open func(digest string) (io.ReadCloser, error)) { s.previous = open }

// OpenCloud checks that the credentials work before anything is written.
func OpenCloud(ctx context.Context, base string, creds cloud.Credentials) (*CloudSource, error) {
	c, err := cloud.Connect(ctx, base, creds)
	if err != nil {
		return nil, err
	}
	return OpenCloudClient(ctx, c)
}

// OpenCloudClient is OpenCloud with a client made already.
func OpenCloudClient(ctx context.Context, c *cloud.Client) (*CloudSource, error) {
	// A reader sees only what it may read: its export would miss, without
	// saying so, the spaces and pages it may not, and the apps.
	err := c.CheckRights(ctx, cloud.Right{Operation: "administer application", Why: "read every space, page, restriction and app (site admin)"})
	if err == nil {
		err = c.Get(ctx, "/wiki/api/v2/spaces", url.Values{"limit": {"1"}}, nil)
	}
	if err != nil {
		return nil, fmt.Errorf("preflight: %w; nothing was exported", err)
	}
	// Restricted spaces and pages are invisible even to a site admin,
	// unless it holds an admin key.
	why, err := c.EnableAdminKey(ctx)
	if err != nil {
		return nil, fmt.Errorf("preflight: asking for an admin key: %w; nothing was exported", err)
	}
	tmp, err := os.MkdirTemp("", "ferry-cloud-")
	if err != nil {
		c.DisableAdminKey(ctx)
		return nil, err
	}
	s := &CloudSource{Client: c, site: c.SiteID(), tmp: tmp}
	if why != "" {
		s.limits = "exported without an admin key (" + why + "): restricted spaces and pages the account cannot see are not in this archive"
	}
	return s, nil
}

func (s *CloudSource) Describe() SourceInfo {
	if s.limits != "" {
		return SourceInfo{Kind: "cloud", Location: s.Client.Site(), SiteID: s.site, Visibility: "limited", Limits: s.limits}
	}
	return SourceInfo{Kind: "cloud", Location: s.Client.Site(), SiteID: s.site, Visibility: "full"}
}

// Waited is how long Cloud's rate limits made the export wait.
func (s *CloudSource) Waited() time.Duration { return s.Client.Waited() }

// Close gives the admin key back and removes the downloads export did
// not take.
func (s *CloudSource) Close() error {
	err := s.Client.DisableAdminKey(context.Background())
	if rerr := os.RemoveAll(s.tmp); err == nil {
		err = rerr
	}
	return err
}

// notReadFromCloud is what the Cloud source leaves out, and why.
var notReadFromCloud = []struct{ class, reason string }{
	{"Like (on a comment)", "not read from Confluence Cloud by this version of ferry (count unknown)"},
	{"SpacePermission (anonymous and role grants)", "not read from Confluence Cloud by this version of ferry (count unknown)"},
	// v2's lists take no draft status: an unpublished draft is its
	// author's alone.
	{"Draft", "unpublished drafts are their authors' own: Cloud's API lists none (count unknown)"},
	// v2 lists no folders: they are found through the pages in them.
	{"Folder (empty)", "a folder with no page in it, at any depth, is not found: Cloud's API lists folders only through what they hold (count unknown)"},
	{"Folder restriction and property", "not read from Confluence Cloud by this version of ferry (count unknown)"},
}

func (s *CloudSource) Changes(ctx context.Context, since string, spaces []string, emit func(*model.Change) error) (watermark string, err error) {
	defer func() {
		// Something listed a moment ago that is not there now: if the
		// admin key was turned off, that is why.
		var api *cloud.APIError
		if errors.As(err, &api) && api.Status == http.StatusNotFound {
			if lost := s.Client.CheckAdminKey(ctx); errors.Is(lost, cloud.ErrAdminKeyLost) {
				err = fmt.Errorf("%w (%v); the archive is not written: run the export again", lost, err)
			}
		}
	}()
	var prev io.Reader
	if since != "" {
		if !archive.IsDigest(since) || s.previous == nil {
			return "", fmt.Errorf("the previous archive holds no record of the Cloud site to continue from: export in full")
		}
		r, err := s.previous(since)
		if err != nil {
			return "", fmt.Errorf("the previous archive's record of the Cloud site: %w", err)
		}
		defer r.Close()
		prev = r
	}
	rec, err := newRecorder(ctx, s.tmp, prev)
	if err != nil {
		return "", err
	}
	defer rec.close()
	s.rec = rec
	emit = rec.filter(emit)
	want := map[string]bool{}
	for _, k := range spaces {
		want[strings.ToUpper(k)] = true
	}
	// Pass 1: the spaces, and who wrote what, so users come first.
	var all []cloudSpace
	err = s.Client.List(ctx, "/wiki/api/v2/spaces", url.Values{"limit": {"250"}, "description-format": {"plain"}}, func(r json.RawMessage) error {
		var sp cloudSpace
		if err := json.Unmarshal(r, &sp); err != nil {
			return err
		}
		if len(want) == 0 || want[strings.ToUpper(sp.Key)] {
			all = append(all, sp)
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	sort.Slice(all, func(i, j int) bool { return all[i].Key < all[j].Key })
	// The site is read once. What is read goes to a spool on disk, noting
	// the accounts and groups it names, so that the archive can give the
	// users first, then the groups, then the spaces and their content.
	authors := map[string]bool{}
	groups := map[string]bool{}
	var first, last time.Time
	note := func(c *model.Change) {
		accounts := []string{c.Actor}
		switch p := c.Payload.(type) {
		case *model.SpacePermission:
			if p.PrincipalType == "group" {
				groups[p.PrincipalID] = true
			}
			accounts = append(accounts, principalUser(p.PrincipalType, p.PrincipalID))
		case *model.Restriction:
			accounts = append(accounts, principalUser(p.PrincipalType, p.PrincipalID))
		case *model.Membership:
			accounts = append(accounts, p.AccountID)
		}
		for _, id := range accounts {
			if id != "" {
				authors[id] = true
			}
		}
		if c.At.IsZero() {
			return
		}
		if c.At.After(last) {
			last = c.At
		}
		if first.IsZero() || c.At.Before(first) {
			first = c.At
		}
	}
	spool := func(stage int) func(*model.Change) error {
		return func(c *model.Change) error { note(c); return rec.spool(stage, c) }
	}
	const groupStage, contentStage = 0, 1
	// Accounts exported before stay in the record even when nothing
	// refers to them any more.
	known, err := rec.previousIDs("user")
	if err != nil {
		return "", err
	}
	for _, id := range known {
		authors[id] = true
	}
	for _, sp := range all {
		if err := s.emitSpace(ctx, sp, spool(contentStage)); err != nil {
			return "", err
		}
	}
	if err := s.siteComments(ctx, spool(contentStage)); err != nil {
		return "", err
	}
	if err := s.siteAttachments(ctx, spool(contentStage)); err != nil {
		return "", err
	}
	// Every group (v1), not only those permissions name.
	names := map[string]string{}
	err = s.Client.List(ctx, "/wiki/rest/api/group", url.Values{"limit": {"200"}}, func(r json.RawMessage) error {
		var g struct{ ID, Name string }
		if err := json.Unmarshal(r, &g); err != nil {
			return err
		}
		groups[g.ID], names[g.ID] = true, g.Name
		return nil
	})
	if err != nil {
		return "", err
	}
	groupIDs := make([]string, 0, len(groups))
	for id := range groups {
		groupIDs = append(groupIDs, id)
	}
	sort.Strings(groupIDs)
	if err := s.groups(ctx, groupIDs, names, spool(groupStage)); err != nil {
		return "", err
	}
	if err := s.users(ctx, authors, first, emit); err != nil {
		return "", err
	}
	if err := rec.replay(groupStage, first, emit); err != nil {
		return "", err
	}
	unlisted, err := s.apps(ctx, first, emit)
	if err != nil {
		return "", err
	}
	if err := rec.replay(contentStage, time.Time{}, emit); err != nil {
		return "", err
	}
	for _, n := range notReadFromCloud {
		skipped := &model.Skipped{Class: n.class, Reason: n.reason}
		if err := emit(&model.Change{Type: model.SourceSkipped, ID: n.class, At: last, Payload: skipped}); err != nil {
			return "", err
		}
	}
	if s.limits != "" {
		skipped := &model.Skipped{Class: "Restricted content", Reason: s.limits}
		if err := emit(&model.Change{Type: model.SourceSkipped, ID: "Restricted content", At: last, Payload: skipped}); err != nil {
			return "", err
		}
	} else if err := s.Client.CheckAdminKey(ctx); err != nil {
		return "", fmt.Errorf("%w; the archive is not written: run the export again", err)
	}
	if unlisted != "" {
		skipped := &model.Skipped{Class: "App", Reason: unlisted}
		if err := emit(&model.Change{Type: model.SourceSkipped, ID: "App", At: last, Payload: skipped}); err != nil {
			return "", err
		}
	}
	if err := rec.remove(emit); err != nil {
		return "", err
	}
	return rec.finish()
}
