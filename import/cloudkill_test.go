package importer

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"ferry/embedded"
	"ferry/generate"
	"ferry/sandbox"
)

// killer stands for a run killed right after the destination took a
// write: the write's answer never arrives, and nothing after it is sent.
type killer struct {
	next   http.RoundTripper
	after  int64 // writes let through; 0: all (counted)
	writes atomic.Int64
	kill   context.CancelFunc
}

func (k *killer) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodGet || strings.HasSuffix(r.URL.Path, "/admin-key") {
		// (the admin key is given back after a stop, as it would be)
		return k.next.RoundTrip(r)
	}
	n := k.writes.Add(1)
	if k.after == 0 {
		return k.next.RoundTrip(r)
	}
	if n > k.after {
		return nil, errors.New("killed")
	}
	resp, err := k.next.RoundTrip(r)
	if n == k.after {
		if err == nil {
			resp.Body.Close()
		}
		k.kill()
		return nil, errors.New("killed")
	}
	return resp, err
}

// An import killed after any one write, and run again with its journal
// or without it (as if the machine running it were lost), leaves the
// copy a clean import makes: each window between a write and its record
// (a space or page created and not yet labelled with ferry.source, a
// homepage taken, an inline comment written as a footer comment, a
// reply under it) is one of the kill points.
func TestCloudImportKilledAfterEachWrite(t *testing.T) {
	dir := t.TempDir()
	src, arch := exportedSite(t, dir, generate.Options{Users: 6, Spaces: 1, Pages: 12, AttachmentBytes: 1 << 10, Seed: 5})
	type destination struct {
		site          *embedded.Site
		path, journal string
		run           func() (*Report, error)
	}
	serve := func(k *killer) destination {
		d := destination{path: filepath.Join(t.TempDir(), "dest.db"), journal: filepath.Join(t.TempDir(), "j.db")}
		var err error
		if d.site, err = embedded.Create(d.path); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.site.Close() })
		sameAccounts(t, src, d.site) // Atlassian accounts are global
		_, c := serveDest(t, d.site, func(*sandbox.Server) {})
		c.SetTransport(k)
		d.run = func() (*Report, error) {
			runCtx, cancel := context.WithCancel(ctx)
			defer cancel()
			k.kill = cancel
			return RunCloud(runCtx, arch, c, d.journal, Options{AllowMissingApps: true})
		}
		return d
	}
	count := &killer{next: http.DefaultTransport}
	if _, err := serve(count).run(); err != nil {
		t.Fatal(err)
	}
	writes := count.writes.Load()
	if writes < 40 {
		t.Fatalf("a clean import made %d writes; the test wants a site with more kinds of them", writes)
	}
	// Every write up to 60, then every third: each kind of write is met
	// early in the run, and the later ones repeat them.
	for after := int64(1); after < writes; after++ {
		if after > 60 && after%3 != 0 {
			continue
		}
		k := &killer{next: http.DefaultTransport, after: after}
		d := serve(k)
		killed, err := d.run()
		if err == nil {
			t.Fatalf("killed after write %d: the run did not stop", after)
		}
		withJournal := after%2 == 0
		if !withJournal {
			os.Remove(d.journal)
		}
		k.after = 0
		again, err := d.run()
		if err != nil {
			t.Fatalf("killed after write %d, run again (journal kept: %v): %v", after, withJournal, err)
		}
		checkCloudCopy(t, filepath.Join(dir, "src.db"), d.path, src, d.site, gapsOf(t, src, killed, again))
		if t.Failed() {
			t.Fatalf("killed after write %d of %d, run again (journal kept: %v): the copy differs (above)", after, writes, withJournal)
		}
	}
}
