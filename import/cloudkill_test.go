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
// Or, with afterRecords, for one killed between two journal writes: the
// answers arrived, and only some of what they said was recorded.
type killer struct {
	next         http.RoundTripper
	after        int64 // writes let through; 0: all (counted)
	writes       atomic.Int64
	afterRecords int64 // journal writes let through; 0: all (counted)
	records      atomic.Int64
	kill         context.CancelFunc
}

// record is the journal's test hook (testHookRecord).
func (k *killer) record() error {
	if n := k.records.Add(1); k.afterRecords > 0 && n > k.afterRecords {
		k.kill()
		return errors.New("killed")
	}
	return nil
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

// An import killed after any one write, or between any two journal
// writes, and run again with its journal or without it (as if the
// machine running it were lost), leaves the copy a clean import makes:
// each window between a write and its record (a space or page created
// and not yet labelled with ferry.source, a homepage taken, an inline
// comment written as a footer comment, a reply under it, a page recorded
// and not yet its kind) is one of the kill points.
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
			testHookRecord = k.record
			defer func() { testHookRecord = nil }()
			return RunCloud(runCtx, arch, c, d.journal, Options{AllowMissingApps: true})
		}
		return d
	}
	count := &killer{next: http.DefaultTransport}
	if _, err := serve(count).run(); err != nil {
		t.Fatal(err)
	}
	writes, records := count.writes.Load(), count.records.Load()
	if writes < 40 {
		t.Fatalf("a clean import made %d writes; the test wants a site with more kinds of them", writes)
	}
	// After a write: every one up to 60, then every third (each kind of
	// write is met early in the run, and the later ones repeat them),
	// with the journal every other time. Between journal writes: every
	// one, with the journal, which is what such a kill leaves half-written.
	for _, kill := range []struct {
		what   string
		points int64
		arm    func(k *killer, n int64)
		all    bool // every point, with the journal kept
	}{
		{"write", writes, func(k *killer, n int64) { k.after = n }, false},
		{"journal write", records, func(k *killer, n int64) { k.afterRecords = n }, true},
	} {
		for after := int64(1); after < kill.points; after++ {
			if !kill.all && after > 60 && after%3 != 0 {
				continue
			}
			k := &killer{next: http.DefaultTransport}
			kill.arm(k, after)
			d := serve(k)
			killed, err := d.run()
			if err == nil {
				t.Fatalf("killed after %s %d: the run did not stop", kill.what, after)
			}
			withJournal := kill.all || after%2 == 0
			if !withJournal {
				os.Remove(d.journal)
			}
			k.after, k.afterRecords = 0, 0
			again, err := d.run()
			if err != nil {
				t.Fatalf("killed after %s %d, run again (journal kept: %v): %v", kill.what, after, withJournal, err)
			}
			checkCloudCopy(t, filepath.Join(dir, "src.db"), d.path, src, d.site, gapsOf(t, src, killed, again))
			if t.Failed() {
				t.Fatalf("killed after %s %d of %d, run again (journal kept: %v): the copy differs (above)", kill.what, after, kill.points, withJournal)
			}
		}
	}
}
