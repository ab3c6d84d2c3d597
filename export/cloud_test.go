package export

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"ferry/archive"
	"ferry/cloud"
	"ferry/embedded"
	"ferry/generate"
	"ferry/internal/clock"
	replayer "ferry/internal/replay"
	"ferry/model"
	"ferry/sandbox"
)

// versionsOf lists an archive's versions, footer comments and labels
// id-free: space, title, number, author, a digest of the body.
func versionsOf(t *testing.T, path string) []string {
	t.Helper()
	f, err := archive.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	drafts := map[string]bool{} // Cloud lists no drafts, and says so
	err = replayer.Each(f, nil, func(_ int64, c *model.Change) error {
		if p, ok := c.Payload.(*model.Content); ok && p.Status == "draft" {
			drafts[c.ID] = true
		}
		if drafts[c.ID] || drafts[c.Parent] {
			return nil
		}
		switch p := c.Payload.(type) {
		case *model.Version:
			out = append(out, fmt.Sprintf("%s %s %s #%d by %s %x", c.Type, c.Space, p.Title, p.Number, p.Author, sha256.Sum256([]byte(p.Body))))
		case *model.Label:
			out = append(out, fmt.Sprintf("%s %s %s:%s", c.Type, c.Space, p.Prefix, p.Name))
		case *model.SpacePermission:
			if p.PrincipalType != "anonymous" { // Cloud's v2 names no anonymous principal
				out = append(out, fmt.Sprintf("%s %s %s %s %s", c.Type, c.Space, p.PrincipalType, p.PrincipalID, p.Operation))
			}
		case *model.Property:
			out = append(out, fmt.Sprintf("%s %s %s %s", c.Type, c.Space, p.Key, p.Value))
		case *model.Restriction:
			out = append(out, fmt.Sprintf("%s %s %s %s %s", c.Type, c.Space, p.Operation, p.PrincipalType, p.PrincipalID))
		case *model.Group:
			out = append(out, fmt.Sprintf("%s %s", c.Type, p.Name))
		case *model.App:
			out = append(out, fmt.Sprintf("%s %s %s %s %s", c.Type, p.Key, p.Name, p.Vendor, p.Version))
		case *model.Membership:
			out = append(out, fmt.Sprintf("%s %s", c.Type, c.ID))
		case *model.Like:
			if p.ContainerType != "comment" { // not read from Cloud, and named so
				out = append(out, fmt.Sprintf("%s %s %s %s", c.Type, c.Space, p.ContainerType, p.AccountID))
			}
		case *model.AttachmentVersion:
			out = append(out, fmt.Sprintf("%s %s #%d %s %d by %s", c.Type, c.Space, p.Number, p.Blob, p.Size, p.Author))
		case *model.Attachment:
			out = append(out, fmt.Sprintf("%s %s %s %s", c.Type, c.Space, p.Filename, p.MediaType))
		case *model.Comment:
			anchor := ""
			if p.Anchor != nil {
				anchor = p.Anchor.Selection + "/" + p.Anchor.MarkerRef
			}
			out = append(out, fmt.Sprintf("%s %s %s by %s reply=%v %s", c.Type, c.Space, p.Location, p.Author, p.ParentID != "", anchor))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// Exporting through the REST API (from a sandbox serving a site) gives the
// same pages, blog posts, history, footer comments and labels as exporting
// the site directly, and
// the same archive whether or not the server fails a fifth of the requests
// and limits their rate.
func TestCloudExportThroughSandbox(t *testing.T) {
	dir := t.TempDir()
	site, err := embedded.Create(filepath.Join(dir, "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer site.Close()
	if err := generate.Site(ctx, site, generate.Options{Users: 60, Spaces: 3, Pages: 30, AttachmentBytes: 1 << 16, Seed: 8}); err != nil {
		t.Fatal(err)
	}
	overflow(t, site)
	direct := filepath.Join(dir, "direct.ferry")
	if _, err := Run(ctx, &EmbeddedSource{Site: site}, direct, Options{}); err != nil {
		t.Fatal(err)
	}
	var digests []string
	for _, faults := range []struct{ fail, rate float64 }{{0, 0}, {0.2, 80}} {
		// Waits are honoured in full, on a clock fifty times as fast.
		fast := clock.Clock{Scale: 0.02}
		h := sandbox.New(site)
		h.FailRate, h.RateLimit, h.Clock = faults.fail, faults.rate, fast
		srv := httptest.NewServer(h)
		src, err := OpenCloud(ctx, srv.URL, cloud.Credentials{Email: "admin@example.com", APIToken: "token"})
		if err != nil {
			t.Fatal(err)
		}
		var waited atomic.Int64
		src.Client.Retries = 60
		src.Client.UseClock(fast.Now, func(ctx context.Context, d time.Duration) error { waited.Add(int64(d)); return fast.Sleep(ctx, d) })
		out := filepath.Join(dir, fmt.Sprintf("cloud-%v.ferry", faults.fail))
		sum, err := Run(ctx, src, out, Options{Created: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), ArchiveID: "00000000-0000-4000-8000-00000000000c"})
		srv.Close()
		if err != nil {
			t.Fatalf("faults %+v: %v", faults, err)
		}
		if faults.fail > 0 && waited.Load() == 0 {
			t.Error("the faulty server never made the client wait")
		}
		digests = append(digests, sum.Digest)
		// The ordering guarantee holds: everything an event refers to
		// comes before it.
		state := model.NewState()
		f, err := archive.Open(out)
		if err != nil {
			t.Fatal(err)
		}
		err = replayer.Each(f, nil, func(seq int64, c *model.Change) error { return state.Apply(c) })
		f.Close()
		if err != nil {
			t.Fatalf("faults %+v: %v", faults, err)
		}
		got, want := versionsOf(t, out), versionsOf(t, direct)
		if len(got) == 0 || fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("faults %+v: %d items through the API, %d directly; differing: %v", faults, len(got), len(want), diff(got, want))
		}
	}
	if digests[0] != digests[1] {
		t.Errorf("a faulty server changed the archive: %s vs %s", digests[0], digests[1])
	}
}

// diff lists what one sorted list has and the other has not.
func diff(a, b []string) []string {
	count := map[string]int{}
	for _, x := range a {
		count[x]++
	}
	for _, x := range b {
		count[x]--
	}
	var out []string
	for x, n := range count {
		if n != 0 {
			out = append(out, fmt.Sprintf("%+d %s", n, x))
		}
	}
	sort.Strings(out)
	return out
}

// Pages come after their parents, keep them, and a cycle or a missing
// parent puts a page at the root rather than losing it.
func TestParentsFirst(t *testing.T) {
	got := parentsFirst([]cloudContent{{ID: "c", ParentID: "b"}, {ID: "b", ParentID: "a"}, {ID: "a"}, {ID: "x", ParentID: "missing"},
		{ID: "p", ParentID: "q"}, {ID: "q", ParentID: "p"}})
	var order []string
	for _, c := range got {
		order = append(order, c.ID+"<"+c.ParentID)
	}
	if want := "a< x< b<a c<b p< q<"; strings.Join(order, " ") != want {
		t.Errorf("order %v, want %s", order, want)
	}
}

// A full export from Cloud and increments after the site changed (new
// versions, moves, trash, deletions, renames, new users, groups and
// memberships) replay to exactly the state of a fresh full export, and an
// increment asks the server for much less than a full export does.
func TestCloudIncrementsEqualAFreshFullExport(t *testing.T) {
	dir := t.TempDir()
	site, err := embedded.Create(filepath.Join(dir, "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer site.Close()
	if err := generate.Site(ctx, site, generate.Options{Users: 20, Spaces: 3, Pages: 40, AttachmentBytes: 1 << 15, Seed: 4}); err != nil {
		t.Fatal(err)
	}
	h := sandbox.New(site)
	srv := httptest.NewServer(h)
	defer srv.Close()
	export := func(out, since string) (*Summary, int64) {
		t.Helper()
		src, err := OpenCloud(ctx, srv.URL, cloud.Credentials{Email: "admin@example.com", APIToken: "token"})
		if err != nil {
			t.Fatal(err)
		}
		defer src.Close()
		before, _ := h.Stats()
		sum, err := Run(ctx, src, out, Options{Since: since})
		if err != nil {
			t.Fatalf("export %s: %v", filepath.Base(out), err)
		}
		after, _ := h.Stats()
		return sum, after - before
	}
	chain := []string{filepath.Join(dir, "0.ferry")}
	_, fullRequests := export(chain[0], "")
	for i, seed := range []int64{21, 22} {
		if err := generate.Evolve(ctx, site, 120, seed); err != nil {
			t.Fatal(err)
		}
		next := filepath.Join(dir, fmt.Sprintf("%d.ferry", i+1))
		sum, requests := export(next, chain[len(chain)-1])
		if sum.Events == 0 || sum.ParentID == "" {
			t.Fatalf("increment %d: %d events, parent %q", i+1, sum.Events, sum.ParentID)
		}
		if requests*10 > fullRequests*9 {
			t.Errorf("increment %d sent %d requests, a full export %d: it should skip what it exported before", i+1, requests, fullRequests)
		}
		t.Logf("increment %d: %d events, %d requests (full export: %d)", i+1, sum.Events, requests, fullRequests)
		chain = append(chain, next)
	}
	// The increments carry each kind of change, not only additions.
	types := map[string]int{}
	for _, path := range chain[1:] {
		f, err := archive.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		for it := f.Events(); it.Next(); {
			types[it.Event().Type]++
		}
		f.Close()
	}
	for _, want := range []model.EventType{model.PageVersion, model.PageMoved, model.PageStatus, model.PageDeleted, model.CommentCreated,
		model.AttachmentVersionAdded, model.LabelAdded, model.UserCreated, model.GroupRenamed, model.MembershipRemoved, model.SpaceUpdated, model.SpaceDeleted} {
		if types[string(want)] == 0 {
			t.Errorf("no %s in the increments: %v", want, types)
		}
	}
	folded := model.NewState()
	for _, path := range chain {
		f, err := archive.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		err = replayer.Each(f, nil, func(_ int64, c *model.Change) error { return folded.Apply(c) })
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", filepath.Base(path), err)
		}
	}
	fresh := model.NewState()
	export(filepath.Join(dir, "fresh.ferry"), "")
	f, err := archive.Open(filepath.Join(dir, "fresh.ferry"))
	if err != nil {
		t.Fatal(err)
	}
	err = replayer.Each(f, nil, func(_ int64, c *model.Change) error { return fresh.Apply(c) })
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	// A Cloud export reads the accounts the site's content names; an
	// account an increment no longer sees stays, as it does at the
	// destination. Anything else differing is a bug.
	var bad []string
	for _, d := range folded.Diff(fresh, 1000) {
		if !(strings.HasPrefix(d, "user ") && strings.HasSuffix(d, "only in the first")) {
			bad = append(bad, d)
		}
	}
	if len(bad) > 0 {
		t.Fatalf("full + increments differ from a fresh full export:\n%s", strings.Join(bad[:min(len(bad), 10)], "\n"))
	}
}

// A reader would see only what it may read, so an export by one fails its
// preflight, naming the right it lacks, and writes nothing. Where the
// site does not list its apps, the archive says they could not be listed
// rather than that there are none.
func TestCloudExportPreflightAndUnlistedApps(t *testing.T) {
	dir := t.TempDir()
	site, err := embedded.Create(filepath.Join(dir, "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer site.Close()
	if err := generate.Site(ctx, site, generate.Options{Users: 5, Spaces: 1, Pages: 3, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	h := sandbox.New(site)
	h.ReadOnly = true
	srv := httptest.NewServer(h)
	defer srv.Close()
	_, err = OpenCloud(ctx, srv.URL, cloud.Credentials{Email: "reader@example.com", APIToken: "token"})
	if err == nil || !strings.Contains(err.Error(), "administer application") || !strings.Contains(err.Error(), "nothing was exported") {
		t.Fatalf("a reader's export: %v", err)
	}
	h.ReadOnly = false
	noApps := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/wiki/rest/plugins/") {
			http.NotFound(w, r)
			return
		}
		h.ServeHTTP(w, r)
	}))
	defer noApps.Close()
	f := exportOver(t, noApps.URL, filepath.Join(dir, "a.ferry"))
	defer f.Close()
	var reason string
	err = replayer.Each(f, nil, func(_ int64, c *model.Change) error {
		switch p := c.Payload.(type) {
		case *model.App:
			t.Errorf("app %s listed where the site lists none", p.Key)
		case *model.Skipped:
			if p.Class == "App" {
				reason = p.Reason
			}
		}
		return nil
	})
	if err != nil || !strings.Contains(reason, "could not be listed") || !strings.Contains(reason, "404") {
		t.Fatalf("skipped apps: %q, %v", reason, err)
	}
}

// overflow gives a page more labels, properties, versions and likes than
// one GET /pages/{id} includes (50 of each): the export must read the rest;
// and a comment with a gap in its versions' numbers.
func overflow(t *testing.T, site *embedded.Site) {
	t.Helper()
	var page, title, author string
	var n int
	var users []string
	rows, err := site.DB().Query(`SELECT account_id FROM users ORDER BY account_id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var u string
		rows.Scan(&u)
		users = append(users, u)
	}
	rows.Close()
	err = site.DB().QueryRow(`SELECT c.id, v.title, coalesce(c.author, ''), v.number FROM content c JOIN content_versions v ON v.content_id = c.id
		WHERE c.type = 'page' AND c.deleted_rev IS NULL AND c.status = 'current' ORDER BY c.rowid, v.number DESC LIMIT 1`).Scan(&page, &title, &author, &n)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	err = site.Update(ctx, at, author, func(tx *embedded.Tx) error {
		for i := 1; i <= 60; i++ {
			if err := tx.AddLabel(model.Label{ContainerID: page, Prefix: "global", Name: fmt.Sprintf("many-%02d", i)}); err != nil {
				return err
			}
			if err := tx.SetProperty(model.Property{ContainerID: page, Key: fmt.Sprintf("many-%02d", i), Value: []byte(`{"n":` + fmt.Sprint(i) + `}`), Version: 1}); err != nil {
				return err
			}
			v := model.Version{ContentID: page, Number: n + i, Title: title, Body: fmt.Sprintf("<p>edit %d</p>", i), Author: author, At: at.Add(time.Duration(i) * time.Minute)}
			if err := tx.AddVersion(v); err != nil {
				return err
			}
		}
		for _, u := range users {
			if err := tx.AddLike(model.Like{ContainerID: page, ContainerType: "page", AccountID: u, At: at}); err != nil {
				return err
			}
		}
		// A comment whose versions are not numbered 1, 2, 3 (one taken
		// out): read through its list of versions.
		id, err := tx.NewID("")
		if err != nil {
			return err
		}
		if err := tx.CreateComment(model.Comment{ID: id, ContainerID: page, Location: "footer", Status: "current", Author: author, CreatedAt: at}); err != nil {
			return err
		}
		for _, n := range []int{1, 3, 4} {
			v := model.Version{ContentID: id, Number: n, Body: fmt.Sprintf("<p>comment version %d</p>", n), Author: users[n], At: at.Add(time.Duration(n) * time.Hour)}
			if n == 1 {
				v.Author = author // its creator's
			}
			if err := tx.AddCommentVersion(v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(users) <= 50 {
		t.Fatalf("only %d users to like a page: 50 are included, more must be", len(users))
	}
}

// A reply Cloud lists among the footer comments whose parent is an inline
// comment cannot be placed (the import writes a reply beside its parent):
// the export names it as skipped, with its id, rather than dropping it
// unseen, and exports everything else.
func TestCloudExportNamesARepliesItCannotPlace(t *testing.T) {
	dir := t.TempDir()
	site, err := embedded.Create(filepath.Join(dir, "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer site.Close()
	if err := generate.Site(ctx, site, generate.Options{Users: 5, Spaces: 1, Pages: 20, Seed: 8}); err != nil {
		t.Fatal(err)
	}
	var parent, container, author string
	if err := site.DB().QueryRow(`SELECT id, container_id, author FROM comments WHERE location = 'inline' AND parent_id IS NULL AND deleted_rev IS NULL ORDER BY id LIMIT 1`).Scan(&parent, &container, &author); err != nil {
		t.Fatalf("no inline comment: %v", err)
	}
	now := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	err = site.Update(ctx, now, "", func(tx *embedded.Tx) error {
		cm := model.Comment{ID: "odd-reply", ContainerID: container, ParentID: parent, Location: "footer", Status: "current", Author: author, CreatedAt: now}
		return errors.Join(tx.CreateComment(cm), tx.AddCommentVersion(model.Version{ContentID: cm.ID, Number: 1, Body: "<p>beside its thread</p>", Author: author, At: now}))
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sandbox.New(site))
	defer srv.Close()
	f := exportOver(t, srv.URL, filepath.Join(dir, "c.ferry"))
	defer f.Close()
	var named []string
	comments := 0
	it := f.Events()
	for it.Next() {
		ev := it.Event()
		switch ev.Type {
		case string(model.SourceSkipped):
			if strings.HasPrefix(ev.ID, "Comment:") {
				named = append(named, ev.ID)
			}
		case string(model.CommentCreated):
			comments++
		}
	}
	it.Close()
	var rowid string
	site.DB().QueryRow(`SELECT rowid FROM comments WHERE id = 'odd-reply'`).Scan(&rowid)
	var want int
	site.DB().QueryRow(`SELECT count(*) - 1 FROM comments WHERE deleted_rev IS NULL`).Scan(&want)
	if len(named) != 1 || named[0] != "Comment:"+rowid || comments != want {
		t.Errorf("named as skipped %v (want Comment:%s); %d comments exported, want %d", named, rowid, comments, want)
	}
}

// exportOver exports the site served at url (a sandbox) to out, and opens
// the archive.
func exportOver(t *testing.T, url, out string) *archive.File {
	t.Helper()
	src, err := OpenCloud(ctx, url, cloud.Credentials{Email: "admin@example.com", APIToken: "token"})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if _, err := Run(ctx, src, out, Options{}); err != nil {
		t.Fatal(err)
	}
	f, err := archive.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	return f
}
