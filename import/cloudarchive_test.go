package importer

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"ferry/cloud"
	"ferry/embedded"
	"ferry/generate"
	"ferry/model"
	"ferry/sandbox"
)

// More than 300 pages archived at the source are archived at the
// destination in tasks of at most 300 pages, one at a time, each waited
// for; a re-run archives nothing (Cloud refuses a page archived already).
func TestCloudArchivesInTasksOf300(t *testing.T) {
	dir := t.TempDir()
	src, err := embedded.Create(filepath.Join(dir, "src.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if err := generate.Site(ctx, src, generate.Options{Users: 5, Spaces: 1, Pages: 340, Seed: 4}); err != nil {
		t.Fatal(err)
	}
	rows, err := src.DB().Query(`SELECT id FROM content WHERE type = 'page' AND status = 'current' AND deleted_rev IS NULL ORDER BY rowid LIMIT 320`)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for rows.Next() {
		var id string
		rows.Scan(&id)
		ids = append(ids, id)
	}
	rows.Close()
	if err := src.Update(ctx, time.Now(), "", func(tx *embedded.Tx) error {
		for _, id := range ids {
			if err := tx.SetContentStatus(id, "archived"); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	want := countRows(t, src, `SELECT count(*) FROM content WHERE type = 'page' AND status = 'archived' AND deleted_rev IS NULL`)
	if want < 301 {
		t.Fatalf("only %d pages to archive", want)
	}
	arch := exportTo(t, src, filepath.Join(dir, "a.ferry"), "")

	dest, err := embedded.Create(filepath.Join(dir, "dest.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer dest.Close()
	h := sandbox.New(dest)
	h.Clock = fast
	var mu sync.Mutex
	var calls []int // pages named by each archive call the sandbox took
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/wiki/rest/api/content/archive" {
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
			var req struct{ Pages []any }
			json.Unmarshal(body, &req)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			if rec.Code == http.StatusAccepted {
				mu.Lock()
				calls = append(calls, len(req.Pages))
				mu.Unlock()
			}
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.WriteHeader(rec.Code)
			w.Write(rec.Body.Bytes())
			return
		}
		h.ServeHTTP(w, r)
	}))
	defer srv.Close()
	c, err := cloud.New(srv.URL, cloud.Credentials{Email: "admin@example.com", APIToken: "token"})
	if err != nil {
		t.Fatal(err)
	}
	c.UseClock(fast.Now, fast.Sleep)
	journal := filepath.Join(dir, "j.db")
	if _, err := RunCloud(ctx, arch, c, journal, Options{AllowMissingApps: true}); err != nil {
		t.Fatal(err)
	}
	if n := countRows(t, dest, `SELECT count(*) FROM content WHERE type = 'page' AND status = 'archived'`); n != want {
		t.Errorf("%d pages archived at the destination, want %d", n, want)
	}
	if len(calls) != 2 || calls[0]+calls[1] != want || max(calls[0], calls[1]) > 300 {
		t.Errorf("archive calls taken, pages in each: %v; want two, of at most 300, %d in all", calls, want)
	}
	calls = nil
	if _, err := RunCloud(ctx, arch, c, journal, Options{AllowMissingApps: true}); err != nil {
		t.Fatalf("re-run: %v", err)
	}
	if len(calls) != 0 {
		t.Errorf("a re-run archived again: %v", calls)
	}
}

// A page the source trashed and then restored, and edited, is restored at
// the destination (an update with status current restores, v2) and gets
// its new version.
func TestCloudRestoresFromTheTrash(t *testing.T) {
	dir := t.TempDir()
	src, err := embedded.Create(filepath.Join(dir, "src.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	at := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	step := func(fn func(tx *embedded.Tx) error) {
		at = at.Add(time.Hour)
		if err := src.Update(ctx, at, "u1", fn); err != nil {
			t.Fatal(err)
		}
	}
	step(func(tx *embedded.Tx) error {
		return errors.Join(
			tx.PutUser(userU1),
			tx.CreateSpace(model.Space{ID: "s1", Key: "TR", Name: "Trash", Type: "global", Status: "current", CreatedAt: at}),
			tx.CreateContent(model.Content{ID: "p1", Type: "page", SpaceID: "s1", Status: "current", CreatedAt: at, Author: "u1"}),
			tx.AddVersion(model.Version{ContentID: "p1", Number: 1, Title: "Kept", Body: "<p>one</p>", Author: "u1", At: at}))
	})
	dest, c := cloudDest(t, 0)
	journal := filepath.Join(dir, "j.db")
	prev := ""
	increment := func(name string) {
		t.Helper()
		arch := exportTo(t, src, filepath.Join(dir, name), prev)
		if _, err := RunCloud(ctx, arch, c, journal, Options{AllowMissingApps: true}); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		prev = arch
	}
	status := func() string {
		var s string
		dest.DB().QueryRow(`SELECT c.status || ' ' || (SELECT count(*) FROM content_versions WHERE content_id = c.id) FROM content c
			JOIN content_versions v ON v.content_id = c.id WHERE v.title = 'Kept' LIMIT 1`).Scan(&s)
		return s
	}
	increment("1.ferry")
	step(func(tx *embedded.Tx) error { return tx.SetContentStatus("p1", "trashed") })
	increment("2.ferry")
	if got := status(); got != "trashed 1" {
		t.Fatalf("after the source trashed it: %q", got)
	}
	step(func(tx *embedded.Tx) error {
		return errors.Join(tx.SetContentStatus("p1", "current"),
			tx.AddVersion(model.Version{ContentID: "p1", Number: 2, Title: "Kept", Body: "<p>two</p>", Author: "u1", At: at}))
	})
	increment("3.ferry")
	if got := status(); got != "current 2" {
		t.Errorf("after the source restored and edited it: %q, want current with 2 versions", got)
	}
}
