package importer

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"ferry/embedded"
	"ferry/generate"
	"ferry/sandbox"
)

// The people of an archive meet a destination that knows them in every
// way Cloud can: an account with access (linked), an account without
// (not invited unless --invite; what it would be granted is listed per
// person), an account whose email is hidden in the archive and at the
// destination (linked, unchecked), an email whose account id the
// destination does not know (matched only through --map), and an email
// with no account at all (invited, then still to be mapped). The review
// counts each before anything is written; nothing fails the import.
func TestCloudPeople(t *testing.T) {
	dir := t.TempDir()
	src, err := embedded.Create(filepath.Join(dir, "src.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if err := generate.Site(ctx, src, generate.Options{Users: 12, Spaces: 1, Pages: 10, Seed: 3}); err != nil {
		t.Fatal(err)
	}
	members := column(t, src, `SELECT DISTINCT account_id FROM memberships WHERE deleted_rev IS NULL ORDER BY account_id`)
	if len(members) < 4 {
		t.Fatalf("only %d users in groups", len(members))
	}
	noAccess, hidden, remapped, stranger := members[0], members[1], members[2], members[3]
	email := func(site *embedded.Site, id string) string {
		return column(t, site, `SELECT coalesce(email, '') FROM users WHERE account_id = ?`, id)[0]
	}
	strangerEmail := email(src, stranger)
	if _, err := src.DB().Exec(`UPDATE users SET email = NULL WHERE account_id = ?`, hidden); err != nil {
		t.Fatal(err)
	}
	arch := exportTo(t, src, filepath.Join(dir, "a.ferry"), "")

	dest, err := embedded.Create(filepath.Join(dir, "dest.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer dest.Close()
	sameAccounts(t, src, dest)
	for _, q := range []string{`UPDATE users SET account_id = 'dest-' || account_id WHERE account_id = ?`, `DELETE FROM users WHERE account_id = ?`} {
		id := map[bool]string{true: remapped, false: stranger}[strings.HasPrefix(q, "UPDATE")]
		if _, err := dest.DB().Exec(q, id); err != nil {
			t.Fatal(err)
		}
	}
	h, c := serveDest(t, dest, func(h *sandbox.Server) { h.SetAccess(noAccess, false) })

	access := func(rep *Report) map[string]Access {
		got := map[string]Access{}
		for _, p := range rep.People {
			got[p.AccountID] = p.Access
		}
		return got
	}
	dry, err := RunCloud(ctx, arch, c, filepath.Join(dir, "dry.db"), Options{AllowMissingApps: true, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Access{noAccess: AccessNone, hidden: AccessUnchecked, remapped: AccessNeedsMap, stranger: AccessNone}
	if got := access(dry); !mapsEqual(got, want) || dry.NewBillable != 2 || len(dry.Linked) != 12-3 {
		t.Errorf("the review: %v, %d billable, %d linked; want %v, 2 and 9", got, dry.NewBillable, len(dry.Linked), want)
	}

	// Without --invite: nobody is invited, the remapped account is linked
	// through --map, and what the others lack is listed per person.
	m := &Mapping{Users: map[string]string{strings.ToLower(email(src, remapped)): "dest-" + remapped}}
	rep, err := RunCloud(ctx, arch, c, filepath.Join(dir, "j1.db"), Options{AllowMissingApps: true, Map: m})
	if err != nil {
		t.Fatal(err)
	}
	if got := h.Invited(); len(got) != 0 {
		t.Errorf("invited without --invite: %v", got)
	}
	want = map[string]Access{noAccess: AccessNone, hidden: AccessUnchecked, stranger: AccessNone}
	if got := access(rep); !mapsEqual(got, want) {
		t.Errorf("people after the import: %v, want %v", got, want)
	}
	for _, p := range rep.People {
		if p.Access == AccessNone && (p.NotGrantedCount == 0 || !strings.HasPrefix(p.NotGranted[0], "membership of group ")) {
			t.Errorf("%s: not granted %d %v, want their memberships", p.AccountID, p.NotGrantedCount, p.NotGranted)
		}
	}
	memberOf := func(id string) int {
		return countRows(t, dest, `SELECT count(*) FROM memberships WHERE account_id = '`+id+`'`)
	}
	if memberOf(noAccess) != 0 || memberOf("dest-"+remapped) == 0 || memberOf(hidden) == 0 {
		t.Errorf("memberships: %d of the account without access (want 0), %d of the mapped one, %d of the unchecked one",
			memberOf(noAccess), memberOf("dest-"+remapped), memberOf(hidden))
	}

	// With --invite, on a new journal: the two without access are invited;
	// the account gets its memberships once its invitation takes effect;
	// the stranger, with a new account Cloud will not name by email, is
	// left to --map.
	rep, err = RunCloud(ctx, arch, c, filepath.Join(dir, "j2.db"), Options{AllowMissingApps: true, Map: m, Invite: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := h.Invited(); !slices.Equal(slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values([]string{email(src, noAccess), strangerEmail}))) || rep.Invited != 2 {
		t.Errorf("invited %v (%d by the report), want the account without access and the stranger", got, rep.Invited)
	}
	want = map[string]Access{hidden: AccessUnchecked, stranger: AccessNeedsMap}
	if got := access(rep); !mapsEqual(got, want) || memberOf(noAccess) == 0 {
		t.Errorf("after the invitations: %v (want %v), %d memberships of the invited account", got, want, memberOf(noAccess))
	}
	// A re-run invites nobody again.
	if _, err := RunCloud(ctx, arch, c, filepath.Join(dir, "j2.db"), Options{AllowMissingApps: true, Map: m, Invite: true}); err != nil || len(h.Invited()) != 2 {
		t.Errorf("a re-run: %v, invitations %v", err, h.Invited())
	}
}

func mapsEqual(a, b map[string]Access) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// Invitations that have not taken effect when the wait ends (--invite-wait)
// leave those users invited, listed with what they were not granted; the
// import goes on, and says so.
func TestCloudInvitationsStillPending(t *testing.T) {
	dir := t.TempDir()
	src, arch := exportedSite(t, dir, generate.Options{Users: 8, Spaces: 1, Pages: 6, Seed: 3})
	dest, err := embedded.Create(filepath.Join(dir, "dest.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer dest.Close()
	sameAccounts(t, src, dest)
	member := column(t, src, `SELECT account_id FROM memberships WHERE deleted_rev IS NULL ORDER BY account_id LIMIT 1`)[0]
	_, c := serveDest(t, dest, func(h *sandbox.Server) {
		h.InviteTime = time.Hour // longer than the import waits
		h.SetAccess(member, false)
	})
	rep, err := RunCloud(ctx, arch, c, filepath.Join(dir, "j.db"), Options{AllowMissingApps: true, Invite: true, InviteWait: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	var pending *Person
	for _, p := range rep.People {
		if p.AccountID == member {
			pending = p
		}
	}
	if rep.Invited != 1 || pending == nil || pending.Access != AccessInvited || pending.NotGrantedCount == 0 || rep.NotCopied[accessReasons[AccessInvited]] != 1 {
		t.Errorf("invited %d; the pending user %+v; not copied %v", rep.Invited, pending, rep.NotCopied)
	}
}
