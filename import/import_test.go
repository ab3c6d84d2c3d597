package importer

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ferry/compare"
	"ferry/embedded"
	"ferry/export"
	"ferry/generate"
	"ferry/model"
)

var ctx = context.Background()

// fixture is a generated source site and its full export.
type fixture struct {
	dir     string
	source  *embedded.Site
	archive string
}

func newFixture(t testing.TB, seed int64, pages int) *fixture {
	t.Helper()
	dir := t.TempDir()
	src, err := embedded.Create(filepath.Join(dir, "source.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { src.Close() })
	if err := generate.Site(ctx, src, generate.Options{Users: 60, Spaces: 5, Pages: pages, AttachmentBytes: 512 << 10, Seed: seed, Folders: 3}); err != nil {
		t.Fatal(err)
	}
	fx := &fixture{dir: dir, source: src, archive: filepath.Join(dir, "full.ferry")}
	fx.export(t, fx.archive, "")
	return fx
}

func (fx *fixture) export(t testing.TB, out, since string) {
	t.Helper()
	if _, err := export.Run(ctx, &export.EmbeddedSource{Site: fx.source}, out, export.Options{Since: since}); err != nil {
		t.Fatal(err)
	}
}

func newDest(t testing.TB, name string) *EmbeddedDestination {
	t.Helper()
	s, err := embedded.Create(filepath.Join(t.TempDir(), name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return &EmbeddedDestination{Site: s}
}

func run(t testing.TB, path string, dest Destination, o Options) *Report {
	t.Helper()
	rep, err := Run(ctx, path, dest, o)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// differences compares two sites or archives.
func differences(t testing.TB, a, b string) []compare.Difference {
	t.Helper()
	res, err := compare.Compare(ctx, a, b)
	if err != nil {
		t.Fatal(err)
	}
	return res.Differences
}

func assertEqual(t testing.TB, a, b string) {
	t.Helper()
	diffs := differences(t, a, b)
	if len(diffs) > 0 {
		for _, d := range diffs[:min(len(diffs), 10)] {
			t.Errorf("%s %s: %s", d.Kind, d.Key, d.What)
		}
		t.Fatalf("%s and %s differ in %d places", a, b, len(diffs))
	}
}

func TestRoundTripCompareEqual(t *testing.T) {
	fx := newFixture(t, 1, 300)
	dest := newDest(t, "copy.db")
	rep := run(t, fx.archive, dest, Options{AllowMissingApps: true})
	if tot := rep.Totals(); tot.Created == 0 || rep.Kinds["app"].NotCopied == 0 {
		t.Fatalf("report %+v", tot)
	}
	assertEqual(t, fx.source.Path(), dest.Site.Path())
	assertEqual(t, fx.archive, dest.Site.Path())
}

func TestRerunChangesNothing(t *testing.T) {
	fx := newFixture(t, 2, 150)
	dest := newDest(t, "copy.db")
	first := run(t, fx.archive, dest, Options{AllowMissingApps: true})
	rev, _ := dest.Site.Rev(ctx)
	again := run(t, fx.archive, dest, Options{AllowMissingApps: true})
	tot := again.Totals()
	if tot.Created != 0 || tot.Updated != 0 || tot.Deleted != 0 || tot.Unchanged != first.Events {
		t.Fatalf("re-run: %+v, want 0 created, 0 updated, %d unchanged", tot, first.Events)
	}
	if rev2, _ := dest.Site.Rev(ctx); rev2 != rev {
		t.Fatalf("re-run wrote: revision %d → %d", rev, rev2)
	}
}

var errCrash = errors.New("simulated crash")

// TestCrashAnywhereThenResume stops imports at random events (the batch
// in flight is lost, as with kill -9) and runs them again: each ends equal
// to the source.
func TestCrashAnywhereThenResume(t *testing.T) {
	fx := newFixture(t, 3, 200)
	rng := rand.New(rand.NewSource(1))
	total := int64(0)
	run(t, fx.archive, newDest(t, "probe.db"), Options{AllowMissingApps: true, Progress: func(r *Report) { total = r.Events }})
	resumed := 0
	for trial := 0; trial < 12; trial++ {
		dest := newDest(t, fmt.Sprintf("crash%d.db", trial))
		crashes := 1 + rng.Intn(3)
		for c := 0; c < crashes; c++ {
			at := 1 + rng.Int63n(total)
			_, err := Run(ctx, fx.archive, dest, Options{AllowMissingApps: true, BatchEvents: 50 + rng.Intn(400), BeforeEvent: func(seq int64) error {
				if seq == at {
					return errCrash
				}
				return nil
			}})
			if err != nil && !errors.Is(err, errCrash) {
				t.Fatal(err)
			}
		}
		var seq int64
		var done bool
		dest.Site.DB().QueryRow(`SELECT seq, done FROM imports`).Scan(&seq, &done)
		rep := run(t, fx.archive, dest, Options{AllowMissingApps: true})
		if seq > 0 && !done {
			resumed++ // a partial import, picked up from its checkpoint
			if rep.ResumedFrom != seq {
				t.Errorf("trial %d resumed from seq %d, the checkpoint was %d", trial, rep.ResumedFrom, seq)
			}
		}
		assertEqual(t, fx.source.Path(), dest.Site.Path())
	}
	if resumed < 4 {
		t.Fatalf("only %d of 12 trials resumed a partial import", resumed)
	}
}

func TestIncrementsEqualTheEvolvedSource(t *testing.T) {
	fx := newFixture(t, 4, 200)
	dest := newDest(t, "copy.db")
	run(t, fx.archive, dest, Options{AllowMissingApps: true})
	prev := fx.archive
	for i, seed := range []int64{31, 32} {
		if err := generate.Evolve(ctx, fx.source, 250, seed); err != nil {
			t.Fatal(err)
		}
		inc := filepath.Join(fx.dir, fmt.Sprintf("inc%d.ferry", i))
		fx.export(t, inc, prev)
		rep := run(t, inc, dest, Options{AllowMissingApps: true})
		if rep.Totals().Created == 0 {
			t.Fatalf("increment %d created nothing: %+v", i, rep.Totals())
		}
		prev = inc
	}
	assertEqual(t, fx.source.Path(), dest.Site.Path())
}

func TestIncrementWithoutParentIsRefused(t *testing.T) {
	fx := newFixture(t, 5, 100)
	generate.Evolve(ctx, fx.source, 50, 1)
	inc := filepath.Join(fx.dir, "inc.ferry")
	fx.export(t, inc, fx.archive)
	dest := newDest(t, "copy.db")
	_, err := Run(ctx, inc, dest, Options{AllowMissingApps: true})
	if err == nil || !strings.Contains(err.Error(), "which was not imported into this site") {
		t.Fatalf("err = %v", err)
	}
	if rev, _ := dest.Site.Rev(ctx); rev != 0 {
		t.Fatalf("a refused import wrote (revision %d)", rev)
	}
}

func TestDryRunCountsEqualTheRealRun(t *testing.T) {
	fx := newFixture(t, 6, 200)
	dest := newDest(t, "copy.db")
	seedOverlap(t, dest.Site)
	rev, _ := dest.Site.Rev(ctx)
	opts := Options{AllowMissingApps: true, OnConflict: Rename, MergeGroups: true}
	dry := opts
	dry.DryRun = true
	planned := run(t, fx.archive, dest, dry)
	if r, _ := dest.Site.Rev(ctx); r != rev {
		t.Fatalf("the dry run wrote (revision %d → %d)", rev, r)
	}
	real := run(t, fx.archive, dest, opts)
	for _, k := range real.KindNames() {
		if *planned.Kinds[k] != *real.Kinds[k] {
			t.Errorf("%s: dry run %+v, real %+v", k, *planned.Kinds[k], *real.Kinds[k])
		}
	}
	if fmt.Sprint(planned.Conflicts) != fmt.Sprint(real.Conflicts) || len(planned.Merges) != len(real.Merges) {
		t.Errorf("dry run plan %v / %v, real %v / %v", planned.Conflicts, planned.Merges, real.Conflicts, real.Merges)
	}
}

func TestDamagedArchiveIsRefusedBeforeAnyWrite(t *testing.T) {
	fx := newFixture(t, 7, 100)
	data, _ := os.ReadFile(fx.archive)
	data[len(data)/2] ^= 0x40
	damaged := filepath.Join(fx.dir, "damaged.ferry")
	os.WriteFile(damaged, data, 0o644)
	dest := newDest(t, "copy.db")
	_, err := Run(ctx, damaged, dest, Options{AllowMissingApps: true})
	if err == nil || !strings.Contains(err.Error(), "damaged, nothing was imported") {
		t.Fatalf("err = %v", err)
	}
	if rev, _ := dest.Site.Rev(ctx); rev != 0 {
		t.Fatalf("wrote before refusing (revision %d)", rev)
	}
}

// seedOverlap gives a destination what collides with the generated
// sources: a user whose email differs only in case, a group of the same
// name with a member of its own, and a space whose key differs only in case.
func seedOverlap(t testing.TB, s *embedded.Site) {
	t.Helper()
	var email string
	// The generator's first user: 5b10a2844c20165700ede000000.
	err := s.Update(ctx, time.Now(), "", func(tx *embedded.Tx) error {
		email = "ZZ-existing@example.com"
		if err := tx.PutUser(model.User{AccountID: "dest-ann", Email: email, DisplayName: "Ann Existing", Status: "active", AccountType: "atlassian"}); err != nil {
			return err
		}
		if err := tx.CreateGroup(model.Group{ID: "dest-g", Name: "engineering"}); err != nil {
			return err
		}
		if err := tx.AddMembership(model.Membership{GroupID: "dest-g", AccountID: "dest-ann"}); err != nil {
			return err
		}
		return tx.CreateSpace(model.Space{ID: "dest-s", Key: "spa", Name: "Existing space", Type: "global", Status: "current", CreatedAt: time.Now()})
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestConflictPolicies(t *testing.T) {
	fx := newFixture(t, 8, 150)
	// A destination user with a source user's email in other case.
	var srcEmail string
	fx.source.Changes(ctx, 0, nil, func(c *model.Change) error {
		if u, ok := c.Payload.(*model.User); ok && srcEmail == "" && strings.Contains(u.Email, "@") {
			srcEmail = strings.ToLower(u.Email)
		}
		return nil
	})
	if srcEmail == "" {
		t.Fatal("the source has no user with an email")
	}
	prepare := func(t *testing.T) *EmbeddedDestination {
		dest := newDest(t, "d.db")
		seedOverlap(t, dest.Site)
		err := dest.Site.Update(ctx, time.Now(), "", func(tx *embedded.Tx) error {
			return tx.PutUser(model.User{AccountID: "dest-same", Email: strings.ToUpper(srcEmail), DisplayName: "Same Person", Status: "active", AccountType: "atlassian"})
		})
		if err != nil {
			t.Fatal(err)
		}
		return dest
	}
	t.Run("fail", func(t *testing.T) {
		dest := prepare(t)
		rev, _ := dest.Site.Rev(ctx)
		_, err := Run(ctx, fx.archive, dest, Options{AllowMissingApps: true, OnConflict: Fail})
		if err == nil || !strings.Contains(err.Error(), "space SPA") || !strings.Contains(err.Error(), "nothing was imported") {
			t.Fatalf("err = %v", err)
		}
		if r, _ := dest.Site.Rev(ctx); r != rev {
			t.Fatal("the fail policy wrote")
		}
	})
	t.Run("skip", func(t *testing.T) {
		dest := prepare(t)
		rep := run(t, fx.archive, dest, Options{AllowMissingApps: true, OnConflict: Skip})
		if rep.Kinds["space"].Skipped != 1 || rep.Kinds["page"].Skipped == 0 || rep.Kinds["space"].Created != 4 {
			t.Fatalf("space %+v page %+v", *rep.Kinds["space"], *rep.Kinds["page"])
		}
		var name string
		dest.Site.DB().QueryRow(`SELECT name FROM spaces WHERE key = 'spa'`).Scan(&name)
		if name != "Existing space" {
			t.Fatalf("the existing space became %q", name)
		}
	})
	t.Run("rename", func(t *testing.T) {
		dest := prepare(t)
		run(t, fx.archive, dest, Options{AllowMissingApps: true, OnConflict: Rename})
		var key, name string
		dest.Site.DB().QueryRow(`SELECT key, name FROM spaces WHERE key = 'SPA1'`).Scan(&key, &name)
		if key != "SPA1" || !strings.HasSuffix(name, "(copied)") {
			t.Fatalf("renamed space: %q %q", key, name)
		}
		// Links into the renamed space now name its new key.
		var stale int
		dest.Site.DB().QueryRow(`SELECT count(*) FROM content_versions v JOIN content c ON c.id = v.content_id JOIN spaces s ON s.id = c.space_id
			WHERE s.key = 'SPA1' AND v.body LIKE '%ri:space-key="SPA"%'`).Scan(&stale)
		if stale != 0 {
			t.Errorf("%d bodies still link to the old key", stale)
		}
	})
	t.Run("users and groups", func(t *testing.T) {
		dest := prepare(t)
		rep := run(t, fx.archive, dest, Options{AllowMissingApps: true, OnConflict: Rename})
		if rep.Kinds["user"].Merged == 0 {
			t.Error("the user with a case-different email was not linked")
		}
		var accounts int
		dest.Site.DB().QueryRow(`SELECT count(*) FROM users WHERE lower(email) = ?`, srcEmail).Scan(&accounts)
		if accounts != 1 {
			t.Errorf("%d accounts with email %s, want 1", accounts, srcEmail)
		}
		var copied int
		dest.Site.DB().QueryRow(`SELECT count(*) FROM groups WHERE name = 'engineering (copied)'`).Scan(&copied)
		if copied != 1 {
			t.Error(`without --merge-groups the source group is not "engineering (copied)"`)
		}
		merging := prepare(t)
		rep = run(t, fx.archive, merging, Options{AllowMissingApps: true, OnConflict: Rename, MergeGroups: true})
		if len(rep.Merges) != 1 || rep.Merges[0].Group != "engineering" || len(rep.Merges[0].SourceMembersGain) == 0 || len(rep.Merges[0].DestinationMembersGain) != 1 {
			t.Fatalf("merges %+v", rep.Merges)
		}
		var groups int
		merging.Site.DB().QueryRow(`SELECT count(*) FROM groups WHERE name LIKE 'engineering%'`).Scan(&groups)
		if groups != 1 {
			t.Errorf("%d engineering groups after a merge, want 1", groups)
		}
	})
}

func TestSpacesAndMap(t *testing.T) {
	fx := newFixture(t, 9, 150)
	mapFile := filepath.Join(fx.dir, "map.csv")
	os.WriteFile(mapFile, []byte("kind,source,destination\nspace,SPB,TEAMB\n"), 0o644)
	m, err := ReadMapping(mapFile)
	if err != nil {
		t.Fatal(err)
	}
	dest := newDest(t, "copy.db")
	rep := run(t, fx.archive, dest, Options{AllowMissingApps: true, Spaces: []string{"spb"}, Map: m})
	var keys []string
	rows, _ := dest.Site.DB().Query(`SELECT key FROM spaces ORDER BY key`)
	for rows.Next() {
		var k string
		rows.Scan(&k)
		keys = append(keys, k)
	}
	rows.Close()
	if fmt.Sprint(keys) != "[TEAMB]" || rep.Skipped["not in --spaces"] == 0 {
		t.Fatalf("spaces %v, skipped %v", keys, rep.Skipped)
	}
	if _, err := Run(ctx, fx.archive, newDest(t, "x.db"), Options{AllowMissingApps: true, Spaces: []string{"NOPE"}}); err == nil {
		t.Error("an unknown space key in --spaces was accepted")
	}
	for _, bad := range []string{"user,a", "planet,x,y", "user,,x"} {
		if _, err := parseMapping(strings.NewReader(bad), "m.csv"); err == nil {
			t.Errorf("mapping %q accepted", bad)
		}
	}
}

// TestMergedDuplicatesShareRelations: two source accounts with one email
// become one destination account, so their memberships of a group become
// one; it goes only when both source memberships have gone.
func TestMergedDuplicatesShareRelations(t *testing.T) {
	dir := t.TempDir()
	src, err := embedded.Create(filepath.Join(dir, "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	at := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	update := func(fn func(*embedded.Tx) error) {
		at = at.Add(time.Hour)
		if err := src.Update(ctx, at, "", fn); err != nil {
			t.Fatal(err)
		}
	}
	update(func(tx *embedded.Tx) error {
		for _, u := range []model.User{{AccountID: "a", Email: "pat@example.com"}, {AccountID: "b", Email: "Pat@Example.com"}} {
			u.DisplayName, u.Status, u.AccountType = "Pat", "active", "atlassian"
			if err := tx.PutUser(u); err != nil {
				return err
			}
		}
		if err := tx.CreateGroup(model.Group{ID: "g", Name: "team"}); err != nil {
			return err
		}
		for _, u := range []string{"a", "b"} {
			if err := tx.AddMembership(model.Membership{GroupID: "g", AccountID: u}); err != nil {
				return err
			}
		}
		return nil
	})
	fx := &fixture{dir: dir, source: src, archive: filepath.Join(dir, "0.ferry")}
	fx.export(t, fx.archive, "")
	dest := newDest(t, "d.db")
	run(t, fx.archive, dest, Options{AllowMissingApps: true})
	prev := fx.archive
	for i, u := range []string{"b", "a"} {
		update(func(tx *embedded.Tx) error { return tx.RemoveMembership(model.Membership{GroupID: "g", AccountID: u}) })
		next := filepath.Join(dir, fmt.Sprintf("%d.ferry", i+1))
		fx.export(t, next, prev)
		run(t, next, dest, Options{AllowMissingApps: true})
		var members int
		dest.Site.DB().QueryRow(`SELECT count(*) FROM memberships WHERE deleted_rev IS NULL`).Scan(&members)
		if want := 1 - i; members != want {
			t.Fatalf("after source member %s left: %d destination memberships, want %d", u, members, want)
		}
		assertEqual(t, src.Path(), dest.Site.Path())
		prev = next
	}
}

// Apps installed at the source and missing at the destination stop the
// import before anything is written, each named; once they are installed,
// or with AllowMissingApps, it proceeds.
func TestMissingAppsStopTheImport(t *testing.T) {
	fx := newFixture(t, 1, 60)
	dest := newDest(t, "copy.db")
	rep, refused := Run(ctx, fx.archive, dest, Options{})
	if refused == nil || !strings.Contains(refused.Error(), "--allow-missing-apps") || rep == nil || len(rep.MissingApps) == 0 {
		t.Fatalf("err %v, report %+v", refused, rep)
	}
	var apps []model.App
	rows, err := fx.source.DB().Query(`SELECT key, name, vendor, version FROM apps`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var a model.App
		rows.Scan(&a.Key, &a.Name, &a.Vendor, &a.Version)
		apps = append(apps, a)
		if !strings.Contains(refused.Error(), a.Key) {
			t.Errorf("the error does not name app %s: %v", a.Key, refused)
		}
	}
	rows.Close()
	var written int
	dest.Site.DB().QueryRow(`SELECT (SELECT count(*) FROM users) + (SELECT count(*) FROM spaces) + (SELECT count(*) FROM content)`).Scan(&written)
	if written != 0 || len(apps) != len(rep.MissingApps) {
		t.Fatalf("%d rows written; %d apps at the source, %d reported missing", written, len(apps), len(rep.MissingApps))
	}
	// Installed at the destination, all but one: that one is still missing.
	err = dest.Site.Update(ctx, time.Now(), "", func(tx *embedded.Tx) error {
		for _, a := range apps[1:] {
			if err := tx.InstallApp(a); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	rep, err = Run(ctx, fx.archive, dest, Options{DryRun: true})
	if err == nil || len(rep.MissingApps) != 1 || !strings.Contains(rep.MissingApps[0], apps[0].Key) {
		t.Fatalf("with %d of %d apps installed: err %v, missing %v", len(apps)-1, len(apps), err, rep.MissingApps)
	}
	run(t, fx.archive, dest, Options{AllowMissingApps: true})
	assertEqual(t, fx.source.Path(), dest.Site.Path())
}
