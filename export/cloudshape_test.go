package export

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"ferry/archive"
	"ferry/cloud"
	"ferry/embedded"
	"ferry/generate"
	importer "ferry/import"
	"ferry/inspect"
	"ferry/internal/clock"
	replayer "ferry/internal/replay"
	"ferry/model"
	"ferry/sandbox"
)

// shapedSite is a generated site with more than 200 groups and a group of
// more than 200 members: every v1 list of it needs several pages.
func shapedSite(t *testing.T, dir string) *embedded.Site {
	return shaped(t, dir, generate.Options{Users: 230, Spaces: 2, Pages: 12, Seed: 3})
}

// shaped generates a site with o (o.Users over 200) and adds 210 groups,
// one of them holding every user.
func shaped(t *testing.T, dir string, o generate.Options) *embedded.Site {
	t.Helper()
	site, err := embedded.Create(filepath.Join(dir, "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { site.Close() })
	if err := generate.Site(ctx, site, o); err != nil {
		t.Fatal(err)
	}
	err = site.Update(ctx, time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), "", func(tx *embedded.Tx) error {
		for i := 0; i < 210; i++ {
			if err := tx.CreateGroup(model.Group{ID: fmt.Sprintf("g-extra-%03d", i), Name: fmt.Sprintf("team %03d", i)}); err != nil {
				return err
			}
		}
		rows, err := site.DB().Query(`SELECT account_id FROM users`)
		if err != nil {
			return err
		}
		var accounts []string
		for rows.Next() {
			var a string
			rows.Scan(&a)
			accounts = append(accounts, a)
		}
		rows.Close()
		for _, a := range accounts {
			if err := tx.AddMembership(model.Membership{GroupID: "g-extra-000", AccountID: a}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return site
}

// count counts an archive's events by type.
func countTypes(t *testing.T, path string) map[model.EventType]int {
	t.Helper()
	f, err := archive.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := map[model.EventType]int{}
	err = replayer.Each(f, nil, func(_ int64, c *model.Change) error { n[c.Type]++; return nil })
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// v1 lists page as Cloud pages them: next links relative to _links.base,
// the site's /wiki. An export of a site with more than 200 groups, and a
// group of more than 200 members, holds them all. (Before the fix the
// client resolved v1 next links against the site's root and broke after
// the first 200.) The same export through a gateway-shaped prefix, with a
// bearer token, gives the same archive.
func TestCloudExportPagesV1AndGoesThroughTheGateway(t *testing.T) {
	dir := t.TempDir()
	site := shapedSite(t, dir)
	direct := filepath.Join(dir, "direct.ferry")
	if _, err := Run(ctx, &EmbeddedSource{Site: site}, direct, Options{}); err != nil {
		t.Fatal(err)
	}
	want := countTypes(t, direct)
	if want[model.GroupCreated] <= 200 || want[model.MembershipAdded] <= 200 {
		t.Fatalf("the site has %d groups and %d memberships: not enough to page", want[model.GroupCreated], want[model.MembershipAdded])
	}
	for _, c := range []struct {
		name    string
		gateway bool
		creds   cloud.Credentials
	}{
		{"site, basic", false, cloud.Credentials{Email: "admin@example.com", APIToken: "token"}},
		{"gateway, bearer", true, cloud.Credentials{Bearer: "scoped-token"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := sandbox.New(site)
			var outside int
			base := ""
			if c.gateway {
				h.Prefix = h.GatewayPrefix()
				base = h.Prefix
			}
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if c.gateway && !strings.HasPrefix(r.URL.Path, h.Prefix) {
					outside++
				}
				h.ServeHTTP(w, r)
			}))
			defer srv.Close()
			src, err := OpenCloud(ctx, srv.URL+base, c.creds)
			if err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(t.TempDir(), "cloud.ferry")
			if _, err := Run(ctx, src, out, Options{}); err != nil {
				t.Fatal(err)
			}
			got := countTypes(t, out)
			for _, typ := range []model.EventType{model.GroupCreated, model.MembershipAdded, model.PageVersion} {
				if got[typ] != want[typ] {
					t.Errorf("%s: %d through the API, %d directly", typ, got[typ], want[typ])
				}
			}
			if outside > 0 {
				t.Errorf("%d requests left the gateway's prefix", outside)
			}
		})
	}
}

// Rate limits as Cloud sends them: per endpoint, a Retry-After of minutes
// (250 s, on a clock a thousand times faster), a reset at minute
// precision. The export honours each wait in full, holds back only the
// endpoint that was limited (no storm of early retries), finishes
// complete, and reports its waits.
func TestCloudExportHonoursLongWaitsPerEndpoint(t *testing.T) {
	dir := t.TempDir()
	site, err := embedded.Create(filepath.Join(dir, "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer site.Close()
	if err := generate.Site(ctx, site, generate.Options{Users: 20, Spaces: 2, Pages: 40, AttachmentBytes: 1 << 14, Seed: 9}); err != nil {
		t.Fatal(err)
	}
	direct := filepath.Join(dir, "direct.ferry")
	if _, err := Run(ctx, &EmbeddedSource{Site: site}, direct, Options{}); err != nil {
		t.Fatal(err)
	}
	fast := clock.Clock{Scale: 0.001}
	h := sandbox.New(site)
	// 3 requests a minute per endpoint (60 ms on this clock): the
	// export's busiest endpoints run into it, however slow the machine.
	h.EndpointLimit, h.RateWindow, h.RetryAfter, h.Clock = 3.0/60, time.Minute, 250*time.Second, fast
	srv := httptest.NewServer(h)
	defer srv.Close()
	src, err := OpenCloud(ctx, srv.URL, cloud.Credentials{Email: "admin@example.com", APIToken: "token"})
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu        sync.Mutex // OnWait is called from every request's goroutine
		announced []string
	)
	src.Client.UseClock(fast.Now, fast.Sleep)
	src.Client.OnWait = func(d time.Duration, why string) {
		mu.Lock()
		announced = append(announced, d.String()+" "+why)
		mu.Unlock()
	}
	out := filepath.Join(dir, "cloud.ferry")
	sum, err := Run(ctx, src, out, Options{})
	if err != nil {
		t.Fatal(err)
	}
	asked, early := h.Waits()
	t.Logf("%d waits of 250 s asked, %d requests during them, %.0f s waited", asked, early, sum.RateLimitWait)
	if asked == 0 {
		t.Fatal("no endpoint was limited: the test does not exercise the rule")
	}
	// Only requests already on their way when a 429 came may arrive
	// during its wait: at most the client's concurrency, per wait.
	if early > asked*int64(cloud.MaxInFlight) {
		t.Errorf("%d requests came during %d waits: a storm of early retries", early, asked)
	}
	if sum.RateLimitWait < 250 || len(announced) == 0 || !strings.Contains(announced[0], "4m10s") || !strings.Contains(announced[0], "RateLimit-Reason") {
		t.Errorf("waited %.0f s, announced %q", sum.RateLimitWait, announced)
	}
	if got, want := versionsOf(t, out), versionsOf(t, direct); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("the export is not complete: %v", diff(got, want))
	}
}

// Users whose profile hides their email are exported by account id, marked
// so; inspect counts them and an import takes them.
func TestCloudExportKeepsHiddenEmails(t *testing.T) {
	dir := t.TempDir()
	site, err := embedded.Create(filepath.Join(dir, "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer site.Close()
	if err := generate.Site(ctx, site, generate.Options{Users: 40, Spaces: 2, Pages: 20, Seed: 6}); err != nil {
		t.Fatal(err)
	}
	h := sandbox.New(site)
	h.HiddenEmails = 0.3
	srv := httptest.NewServer(h)
	defer srv.Close()
	src, err := OpenCloud(ctx, srv.URL, cloud.Credentials{Email: "admin@example.com", APIToken: "token"})
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "cloud.ferry")
	if _, err := Run(ctx, src, out, Options{}); err != nil {
		t.Fatal(err)
	}
	f, err := archive.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	hidden, withEmail := 0, 0
	err = replayer.Each(f, func(t model.EventType) bool { return t.Kind() == "user" }, func(_ int64, c *model.Change) error {
		u, ok := c.Payload.(*model.User)
		switch {
		case !ok:
		case u.EmailHidden && u.Email == "":
			hidden++
		case u.EmailHidden:
			return fmt.Errorf("user %s: hidden, with an email", u.AccountID)
		case u.Email != "":
			withEmail++
		}
		return nil
	})
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	if hidden == 0 || withEmail == 0 {
		t.Fatalf("%d users with their email hidden, %d with an email: want some of each", hidden, withEmail)
	}
	in, err := inspect.Open(ctx, out)
	if err != nil {
		t.Fatal(err)
	}
	sum, err := in.Summarize(ctx)
	in.Close()
	if err != nil || sum.Personal.EmailHidden != int64(hidden) {
		t.Errorf("inspect counts %d hidden emails (%v), the archive holds %d", sum.Personal.EmailHidden, err, hidden)
	}
	dest, err := embedded.Create(filepath.Join(dir, "dest.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer dest.Close()
	rep, err := importer.Run(ctx, out, &importer.EmbeddedDestination{Site: dest}, importer.Options{AllowMissingApps: true})
	if err != nil {
		t.Fatal(err)
	}
	if u := rep.Kinds["user"]; u == nil || u.Created == 0 {
		t.Errorf("the import's users: %+v", u)
	}
}

// restrictedSite is a generated site with a space the sandbox's caller
// may not read and a restricted page tree in another (sandbox.Restrict).
func restrictedSite(t *testing.T, dir string) (*embedded.Site, *sandbox.Hidden) {
	t.Helper()
	site, err := embedded.Create(filepath.Join(dir, "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { site.Close() })
	if err := generate.Site(ctx, site, generate.Options{Users: 30, Spaces: 3, Pages: 40, AttachmentBytes: 1 << 12, Seed: 8}); err != nil {
		t.Fatal(err)
	}
	return site, restrict(t, site)
}

// restrict hides part of a site from the sandbox's caller, and publishes
// its drafts.
func restrict(t *testing.T, site *embedded.Site) *sandbox.Hidden {
	t.Helper()
	hid, err := sandbox.Restrict(ctx, site)
	if err != nil {
		t.Fatal(err)
	}
	// Drafts are their authors' own: Cloud lists none, and the export
	// names them as not read. Published here, the site and its export
	// can be compared whole.
	err = site.Update(ctx, time.Date(2025, 2, 2, 0, 0, 0, 0, time.UTC), "", func(tx *embedded.Tx) error {
		rows, err := site.DB().Query(`SELECT id FROM content WHERE status = 'draft' AND deleted_rev IS NULL`)
		if err != nil {
			return err
		}
		var drafts []string
		for rows.Next() {
			var id string
			rows.Scan(&id)
			drafts = append(drafts, id)
		}
		rows.Close()
		for _, id := range drafts {
			if err := tx.SetContentStatus(id, "current"); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return hid
}

// contentIDs lists the pages and blog posts an archive creates, by id,
// and the keys of its spaces.
func contentIDs(t *testing.T, path string) (content, spaces []string) {
	t.Helper()
	f, err := archive.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	err = replayer.Each(f, func(model.EventType) bool { return false }, func(_ int64, c *model.Change) error {
		switch c.Type {
		case model.PageCreated, model.BlogpostCreated:
			content = append(content, c.ID)
		case model.SpaceCreated:
			spaces = append(spaces, c.Space)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(content)
	sort.Strings(spaces)
	return content, spaces
}

// An admin's export takes an admin key, renews it through an export
// longer than a key lasts, and gives it back: the archive holds the
// restricted space and pages, as the site itself does, and says it saw
// everything.
func TestCloudExportTakesAnAdminKey(t *testing.T) {
	dir := t.TempDir()
	site, _ := restrictedSite(t, dir)
	direct := filepath.Join(dir, "direct.ferry")
	if _, err := Run(ctx, &EmbeddedSource{Site: site}, direct, Options{}); err != nil {
		t.Fatal(err)
	}
	h := sandbox.New(site)
	// A second is 167 minutes, and each answer takes 2 ms: keys of 60
	// minutes run out during the export, unless renewed.
	fast := clock.Clock{Scale: 1e-4}
	h.Clock, h.Latency = fast, 2*time.Millisecond
	srv := httptest.NewServer(h)
	defer srv.Close()
	c, err := cloud.New(srv.URL, cloud.Credentials{Email: "admin@example.com", APIToken: "token"})
	if err != nil {
		t.Fatal(err)
	}
	c.UseClock(fast.Now, fast.Sleep)
	began := fast.Now()
	src, err := OpenCloudClient(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "cloud.ferry")
	sum, err := Run(ctx, src, out, Options{})
	if err != nil {
		t.Fatal(err)
	}
	took := fast.Now().Sub(began)
	if err := src.Close(); err != nil {
		t.Fatal(err)
	}
	if got, want := versionsOf(t, out), versionsOf(t, direct); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("the export is not complete: %v", diff(got, want))
	}
	issued, on := h.AdminKeys()
	t.Logf("%d admin keys issued in an export of %v of the sandbox's time", issued, took.Round(time.Minute))
	if on {
		t.Error("the admin key was not given back")
	}
	if took > 60*time.Minute && issued < 2 || issued < 1 {
		t.Errorf("%d admin keys issued in an export of %v of the sandbox's time: a key lasts 60 minutes", issued, took.Round(time.Minute))
	}
	if sum.Visibility != "full" || sum.Limits != "" {
		t.Errorf("the summary says visibility %q (%s)", sum.Visibility, sum.Limits)
	}
	f, err := archive.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	if v := f.Header().Source.Visibility; v != "full" {
		t.Errorf("the header says visibility %q", v)
	}
	f.Close()
}

// Without an admin key (a site on the Standard plan) the export holds
// exactly what the account can see, and says so: the header, the
// export's summary, a source.skipped event and inspect's summary name the
// gap. A key turned off during an export fails it, leaving no archive.
func TestCloudExportWithoutAnAdminKeyNamesTheGap(t *testing.T) {
	dir := t.TempDir()
	site, hid := restrictedSite(t, dir)
	h := sandbox.New(site)
	h.NoAdminKey = true
	srv := httptest.NewServer(h)
	defer srv.Close()
	src, err := OpenCloud(ctx, srv.URL, cloud.Credentials{Email: "admin@example.com", APIToken: "token"})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	out := filepath.Join(dir, "cloud.ferry")
	sum, err := Run(ctx, src, out, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Visibility != "limited" || !strings.Contains(sum.Limits, "without an admin key") {
		t.Errorf("the summary says visibility %q (%s)", sum.Visibility, sum.Limits)
	}
	// What the account sees, and only that.
	var want []string
	rows, err := site.DB().Query(`SELECT c.rowid FROM content c JOIN spaces s ON s.id = c.space_id
		WHERE c.deleted_rev IS NULL AND c.status != 'draft' AND s.key != ? ORDER BY 1`, hid.SpaceKey)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		rows.Scan(&id)
		if !slices.Contains(hid.Pages, id) {
			want = append(want, id)
		}
	}
	rows.Close()
	sort.Strings(want)
	got, spaces := contentIDs(t, out)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("pages and blog posts exported: %v, want what the account sees: %v", diff(got, want), want)
	}
	if slices.Contains(spaces, hid.SpaceKey) || len(spaces) == 0 {
		t.Errorf("spaces exported: %v (hidden: %s)", spaces, hid.SpaceKey)
	}
	f, err := archive.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	if s := f.Header().Source; s.Visibility != "limited" || s.Limits != sum.Limits {
		t.Errorf("the header says %q, %q", s.Visibility, s.Limits)
	}
	named := false
	replayer.Each(f, nil, func(_ int64, c *model.Change) error {
		if sk, ok := c.Payload.(*model.Skipped); ok && sk.Class == "Restricted content" && strings.Contains(sk.Reason, "without an admin key") {
			named = true
		}
		return nil
	})
	f.Close()
	if !named {
		t.Error("no source.skipped event names the restricted content")
	}
	in, err := inspect.Open(ctx, out)
	if err != nil {
		t.Fatal(err)
	}
	is, err := in.Summarize(ctx)
	in.Close()
	if err != nil || is.Limits != sum.Limits || is.Source["visibility"] != "limited" {
		t.Errorf("inspect's summary: limits %q, source %v (%v)", is.Limits, is.Source, err)
	}

	// A key turned off by another admin during the export.
	h.NoAdminKey = false
	var served atomic.Int64
	revoking := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if served.Add(1) == 40 {
			h.RevokeAdminKey()
		}
		h.ServeHTTP(w, r)
	}))
	defer revoking.Close()
	src2, err := OpenCloud(ctx, revoking.URL, cloud.Credentials{Email: "admin@example.com", APIToken: "token"})
	if err != nil {
		t.Fatal(err)
	}
	defer src2.Close()
	lost := filepath.Join(dir, "lost.ferry")
	if _, err := Run(ctx, src2, lost, Options{}); !errors.Is(err, cloud.ErrAdminKeyLost) {
		t.Errorf("an export whose key was turned off: %v", err)
	}
	if _, err := os.Stat(lost); !os.IsNotExist(err) {
		t.Errorf("it left an archive: %v", err)
	}
}

// Folders are copied, with the pages in them, in one tree with the
// pages; a page whose parent is a whiteboard, database or Smart Link is
// not re-parented without a word: each node is named in a source.skipped
// event with its reason, and its pages go under the nearest page or
// folder above it (or the space's root); every other page keeps its
// parent. inspect lists the nodes as held by the source and not copied.
func TestCloudExportCopiesFoldersAndNamesWhatItDoesNot(t *testing.T) {
	dir := t.TempDir()
	site, err := embedded.Create(filepath.Join(dir, "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer site.Close()
	if err := generate.Site(ctx, site, generate.Options{Users: 20, Spaces: 2, Pages: 40, Seed: 12, Folders: 3}); err != nil {
		t.Fatal(err)
	}
	h := sandbox.New(site)
	nodes, err := h.LayNodes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	src, err := OpenCloud(ctx, srv.URL, cloud.Credentials{Email: "admin@example.com", APIToken: "token"})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	out := filepath.Join(dir, "cloud.ferry")
	if _, err := Run(ctx, src, out, Options{}); err != nil {
		t.Fatal(err)
	}
	// Where each page and folder is in the site, by the ids the API shows;
	// the folders that hold a page (v2 finds folders only through them).
	want, title := map[string]string{}, map[string]string{}
	rows, err := site.DB().Query(`SELECT c.rowid, c.type, coalesce((SELECT rowid FROM content p WHERE p.id = c.parent_id), ''),
		(SELECT title FROM content_versions v WHERE v.content_id = c.id ORDER BY number DESC LIMIT 1)
		FROM content c WHERE c.type IN ('page', 'folder') AND c.deleted_rev IS NULL AND c.status != 'draft'
		AND (c.type = 'page' OR EXISTS (WITH RECURSIVE sub(id) AS (SELECT c.id UNION SELECT d.id FROM content d JOIN sub ON d.parent_id = sub.id)
			SELECT 1 FROM sub JOIN content d ON d.id = sub.id WHERE d.type = 'page' AND d.status != 'draft'))`)
	if err != nil {
		t.Fatal(err)
	}
	folders := 0
	for rows.Next() {
		var id, typ, parent, ttl string
		rows.Scan(&id, &typ, &parent, &ttl)
		want[id] = parent
		if typ == "folder" {
			title[id] = ttl
			folders++
		}
	}
	rows.Close()
	if folders == 0 {
		t.Fatal("the site has no folder holding a page")
	}
	// The pages laid in nodes: under the nearest page or folder above.
	moved := 0
	_, listed := call(t, srv, "/wiki/api/v2/pages?limit=250")
	for _, n := range nodes {
		above := ""
		for m := n; ; {
			if m.ParentType == "page" || m.ParentType == "folder" {
				above = m.ParentID
				break
			}
			if m.ParentID == "" {
				break
			}
			for _, o := range nodes {
				if o.ID == m.ParentID {
					m = o
				}
			}
		}
		for _, p := range listed {
			if p["parentId"] == n.ID {
				want[p["id"].(string)] = above
				moved++
			}
		}
	}
	if moved != len(nodes) {
		t.Fatalf("%d pages laid in %d nodes", moved, len(nodes))
	}
	f, err := archive.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	named := map[string]string{}
	got, gotTitle := map[string]string{}, map[string]string{}
	err = replayer.Each(f, nil, func(_ int64, c *model.Change) error {
		switch p := c.Payload.(type) {
		case *model.Skipped:
			if p.ID != "" {
				named[p.ID] = p.Class + ": " + p.Reason
			}
		case *model.Content:
			if c.Type == model.PageCreated || c.Type == model.FolderCreated {
				if _, dup := got[p.ID]; dup {
					t.Errorf("%s %s twice", c.Type, p.ID)
				}
				got[p.ID] = p.ParentID
			}
		case *model.Version:
			if c.Type == model.FolderVersion {
				gotTitle[c.ID] = p.Title
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("pages and folders, by parent:\n got %v\nwant %v", got, want)
	}
	if fmt.Sprint(gotTitle) != fmt.Sprint(title) {
		t.Errorf("folder titles: %v, want %v", gotTitle, title)
	}
	for _, n := range nodes {
		if r := named[n.ID]; !strings.Contains(r, "not copied") || !strings.Contains(r, "nearest page or folder above") {
			t.Errorf("%s %s: named %q", n.Type, n.ID, r)
		}
	}
	in, err := inspect.Open(ctx, out)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	sum, err := in.Summarize(ctx)
	if err != nil {
		t.Fatal(err)
	}
	held := map[string]int64{}
	for _, l := range sum.Held {
		held[l.Class] += l.Objects
	}
	for _, class := range []string{"Whiteboard", "Database", "Smart Link"} {
		if held[class] != 1 {
			t.Errorf("inspect holds %d of %s: %v", held[class], class, sum.Held)
		}
	}
	if sum.ByKind["folder"] != int64(2*folders) {
		t.Errorf("inspect counts %d folder events, want %d (created and titled)", sum.ByKind["folder"], 2*folders)
	}
}

// call lists a sandbox's answer's results as any client would.
func call(t *testing.T, srv *httptest.Server, path string) (int, []map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
	req.SetBasicAuth("admin@example.com", "token")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct{ Results []map[string]any }
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out.Results
}

// skippedClasses lists the classes an archive's source.skipped events name.
func skippedClasses(t *testing.T, path string) map[string]int {
	t.Helper()
	f, err := archive.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := map[string]int{}
	err = replayer.Each(f, func(typ model.EventType) bool { return typ == model.SourceSkipped }, func(_ int64, c *model.Change) error {
		if s, ok := c.Payload.(*model.Skipped); ok {
			n[s.Class]++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// withoutFolderVersions drops folder.version lines: Cloud reads only a
// folder's current title, where the site has every one.
func withoutFolderVersions(lines []string) []string {
	var out []string
	for _, l := range lines {
		if !strings.HasPrefix(l, string(model.FolderVersion)) {
			out = append(out, l)
		}
	}
	return out
}

// The whole shape at once, as a real site has it: more than 200 groups, a
// group of more than 200 members, a restricted space and a restricted
// page tree, hidden emails, folders, a whiteboard, a database and a Smart
// Link. With an admin key the export is complete; without one it holds
// everything the account can see and names every gap.
func TestCloudExportOfAWholeShapedSite(t *testing.T) {
	dir := t.TempDir()
	site := shaped(t, dir, generate.Options{Users: 230, Spaces: 3, Pages: 45, Folders: 2, AttachmentBytes: 1 << 12, Seed: 3})
	hid := restrict(t, site)
	direct := filepath.Join(dir, "direct.ferry")
	if _, err := Run(ctx, &EmbeddedSource{Site: site}, direct, Options{}); err != nil {
		t.Fatal(err)
	}
	want := countTypes(t, direct)
	if want[model.GroupCreated] <= 200 || want[model.MembershipAdded] <= 200 || want[model.FolderCreated] == 0 {
		t.Fatalf("the site: %d groups, %d memberships, %d folders", want[model.GroupCreated], want[model.MembershipAdded], want[model.FolderCreated])
	}
	export := func(noKey bool) string {
		h := sandbox.New(site)
		h.HiddenEmails, h.NoAdminKey = 0.3, noKey
		if _, err := h.LayNodes(ctx); err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(h)
		defer srv.Close()
		src, err := OpenCloud(ctx, srv.URL, cloud.Credentials{Email: "admin@example.com", APIToken: "token"})
		if err != nil {
			t.Fatal(err)
		}
		defer src.Close()
		out := filepath.Join(t.TempDir(), "cloud.ferry")
		if _, err := Run(ctx, src, out, Options{}); err != nil {
			t.Fatal(err)
		}
		return out
	}

	t.Run("with an admin key", func(t *testing.T) {
		out := export(false)
		if got, want := withoutFolderVersions(versionsOf(t, out)), withoutFolderVersions(versionsOf(t, direct)); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("the export is not complete: %v", diff(got, want))
		}
		got := countTypes(t, out)
		for _, typ := range []model.EventType{model.UserCreated, model.GroupCreated, model.MembershipAdded, model.PageCreated} {
			if got[typ] != want[typ] {
				t.Errorf("%s: %d through the API, %d in the site", typ, got[typ], want[typ])
			}
		}
		// v2 finds folders through the pages in them; an empty one is
		// named as not found.
		var holding int
		site.DB().QueryRow(`SELECT count(*) FROM content f WHERE f.type = 'folder' AND f.deleted_rev IS NULL AND EXISTS (
			WITH RECURSIVE sub(id) AS (SELECT f.id UNION SELECT d.id FROM content d JOIN sub ON d.parent_id = sub.id WHERE d.deleted_rev IS NULL)
			SELECT 1 FROM sub JOIN content d ON d.id = sub.id WHERE d.type = 'page')`).Scan(&holding)
		if got[model.FolderCreated] != holding {
			t.Errorf("%d folders through the API, %d in the site that hold a page", got[model.FolderCreated], holding)
		}
		classes := skippedClasses(t, out)
		for _, class := range []string{"Whiteboard", "Database", "Smart Link"} {
			if classes[class] != 1 {
				t.Errorf("%s named %d times: %v", class, classes[class], classes)
			}
		}
		if classes["Restricted content"] != 0 {
			t.Errorf("an export with a key names restricted content as missing: %v", classes)
		}
		in, err := inspect.Open(ctx, out)
		if err != nil {
			t.Fatal(err)
		}
		sum, err := in.Summarize(ctx)
		in.Close()
		if err != nil || sum.Personal.EmailHidden == 0 || sum.Source["visibility"] != "full" {
			t.Errorf("inspect: %d hidden emails, visibility %v (%v)", sum.Personal.EmailHidden, sum.Source["visibility"], err)
		}
	})

	t.Run("without an admin key", func(t *testing.T) {
		out := export(true)
		var visible []string
		rows, err := site.DB().Query(`SELECT c.rowid FROM content c JOIN spaces s ON s.id = c.space_id
			WHERE c.deleted_rev IS NULL AND c.type != 'folder' AND c.status != 'draft' AND s.key != ? ORDER BY 1`, hid.SpaceKey)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var id string
			rows.Scan(&id)
			if !slices.Contains(hid.Pages, id) {
				visible = append(visible, id)
			}
		}
		rows.Close()
		sort.Strings(visible)
		content, spaces := contentIDs(t, out)
		if fmt.Sprint(content) != fmt.Sprint(visible) {
			t.Errorf("pages and blog posts: %v", diff(content, visible))
		}
		if slices.Contains(spaces, hid.SpaceKey) {
			t.Errorf("the restricted space %s is in the archive", hid.SpaceKey)
		}
		got := countTypes(t, out)
		for _, typ := range []model.EventType{model.GroupCreated, model.MembershipAdded} {
			if got[typ] != want[typ] {
				t.Errorf("%s: %d through the API, %d in the site", typ, got[typ], want[typ])
			}
		}
		classes := skippedClasses(t, out)
		for _, class := range []string{"Restricted content", "Draft", "Folder (empty)"} {
			if classes[class] != 1 {
				t.Errorf("%s named %d times: %v", class, classes[class], classes)
			}
		}
		f, err := archive.Open(out)
		if err != nil {
			t.Fatal(err)
		}
		if s := f.Header().Source; s.Visibility != "limited" || !strings.Contains(s.Limits, "without an admin key") {
			t.Errorf("the header: %+v", s)
		}
		f.Close()
	})
}
