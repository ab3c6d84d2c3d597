package export

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"ferry/archive"
	"ferry/cloud"
	"ferry/model"
)

// CloudSource reads a Confluence Cloud site through its REST API (v2):
// the users who wrote its content, its spaces, its pages and blog posts
// with every version, their footer comments, labels and attachments with
// every version's bytes. What this version does not read yet is recorded as
// source.skipped events, so inspect shows it.
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

// OpenBlob opens a downloaded attachment version; it is removed once read.
func (s *CloudSource) OpenBlob(ctx context.Context, digest string) (io.ReadCloser, error) {
	if !archive.IsDigest(digest) {
		return nil, fmt.Errorf("blob %q: not a digest", digest)
	}
	f, err := os.Open(filepath.Join(s.tmp, digest))
	if err != nil {
		return nil, fmt.Errorf("blob %s: %w", digest, err)
	}
	return &removeOnClose{f}, nil
}

type removeOnClose struct{ *os.File }

func (r *removeOnClose) Close() error {
	err := r.File.Close()
	os.Remove(r.Name())
	return err
}

// fetch downloads an attachment version into the temporary folder, named
// by its SHA-256.
func (s *CloudSource) fetch(ctx context.Context, link string) (digest string, size int64, err error) {
	body, err := s.Client.Download(ctx, link)
	if err != nil {
		return "", 0, err
	}
	defer body.Close()
	f, err := os.CreateTemp(s.tmp, "download-*")
	if err != nil {
		return "", 0, err
	}
	h := sha256.New()
	size, err = io.Copy(io.MultiWriter(f, h), body)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", 0, fmt.Errorf("download %s: %w", link, err)
	}
	digest = hex.EncodeToString(h.Sum(nil))
	return digest, size, os.Rename(f.Name(), filepath.Join(s.tmp, digest))
}

type cloudSpace struct {
	ID, Key, Name, Type, Status, AuthorID, CreatedAt, HomepageID string
	Description                                                  struct {
		Plain struct{ Value string }
	}
}

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

type cloudAttachment struct {
	ID, Title, MediaType, CreatedAt, DownloadLink string
	PageID, BlogPostID                            string
	Version                                       cloudVersion
}

// siteAttachments emits the attachments of the pages and blog posts
// exported, read from the site's list (v2: GET /attachments) in one pass.
func (s *CloudSource) siteAttachments(ctx context.Context, emit func(*model.Change) error) error {
	return s.Client.List(ctx, "/wiki/api/v2/attachments", url.Values{"limit": {"250"}}, func(r json.RawMessage) error {
		var a cloudAttachment
		if err := json.Unmarshal(r, &a); err != nil {
			return err
		}
		container := cmp.Or(a.PageID, a.BlogPostID)
		space, ok, err := s.rec.containerSpace(container)
		if err != nil || !ok {
			return err // not a page or blog post exported
		}
		return s.emitAttachment(ctx, &a, container, space, emit)
	})
}

// emitAttachment emits an attachment and each of its versions, whose bytes
// it downloads first: events name blobs by their SHA-256.
func (s *CloudSource) emitAttachment(ctx context.Context, a *cloudAttachment, container, space string, emit func(*model.Change) error) error {
	att := &model.Attachment{ID: a.ID, ContainerID: container, Filename: a.Title, MediaType: a.MediaType, Author: a.Version.AuthorID, CreatedAt: cloudTime(a.CreatedAt)}
	if same, err := s.rec.unchanged("attachment", a.ID, a.Version.Number); same || err != nil {
		return err
	}
	done, err := s.rec.exported("attachment", a.ID)
	if err != nil {
		return err
	}
	vs := []cloudVersion{a.Version} // the list gave the only one
	if a.Version.Number > 1 {
		if vs, err = s.versionList(ctx, "attachments", a.ID); err != nil || len(vs) == 0 {
			return err
		}
	}
	todo, newest := after(vs, done)
	att.Author = vs[0].AuthorID
	if err := emit(&model.Change{Type: model.AttachmentCreated, ID: a.ID, Parent: container, Space: space, At: att.CreatedAt, Actor: att.Author, Payload: att}); err != nil {
		return err
	}
	// Versions exported before are not downloaded again.
	link, _, _ := strings.Cut(a.DownloadLink, "?")
	err = inOrder(ctx, len(todo), func(ctx context.Context, i int) (*model.AttachmentVersion, error) {
		v := &todo[i]
		digest, size, err := s.fetch(ctx, link+"?version="+fmt.Sprint(v.Number)+"&api=v2")
		if err != nil {
			return nil, err
		}
		return &model.AttachmentVersion{AttachmentID: a.ID, Number: v.Number, Blob: digest, Size: size, MediaType: a.MediaType,
			Comment: v.Message, Author: v.AuthorID, At: cloudTime(v.CreatedAt)}, nil
	}, func(_ int, av *model.AttachmentVersion) error {
		return emit(&model.Change{Type: model.AttachmentVersionAdded, ID: a.ID, Parent: container, Space: space, At: av.At, Actor: av.Author, Payload: av})
	})
	if err != nil {
		return err
	}
	return s.rec.sawVersions("attachment", a.ID, newest)
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
