package importer

import (
	"crypto/ed25519"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"ferry/internal/hostile"
)

// With --trust, the signature over the manifest is checked before any
// segment or blob is parsed: an unsigned archive is refused for that,
// whatever its segments hold. (Before the fix, import parsed every
// segment and blob first, so a hostile unsigned archive reached the
// decoders; here its segment is not Parquet, and the refusal must name
// the missing signature, not the damage.)
func TestTrustIsCheckedBeforeAnySegmentIsRead(t *testing.T) {
	data, err := hostile.Archive([]hostile.Segment{{RowGroups: 1, Rows: 3, Type: "page.version", Raw: []byte("not parquet at all, but its checksums are right")}})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "unsigned.ferry")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	pub, _, _ := ed25519.GenerateKey(nil)
	_, err = OpenArchive(path, Options{Trusted: []ed25519.PublicKey{pub}})
	if err == nil || !strings.Contains(err.Error(), "not signed") {
		t.Fatalf("err = %v, want a refusal for the missing signature", err)
	}
	// Without --trust the same archive is refused as damaged.
	if _, err := OpenArchive(path, Options{}); err == nil || !strings.Contains(err.Error(), "damaged") {
		t.Fatalf("without --trust: %v, want it refused as damaged", err)
	}
}

// The Cloud import's journal maps the source's ids: its owner only may
// read it. (Before the fix it was created 0644.)
func TestJournalIsOwnerOnly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j", "journal.db")
	j, err := openJournal(path, false)
	if err != nil {
		t.Fatal(err)
	}
	j.db.Close()
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("journal mode %v, %v; want 0600", st.Mode().Perm(), err)
	}
}

// Into an empty destination no user is "linked to an existing account":
// source users sharing an email with another become one account with it,
// and are reported as such. (Before the fix an empty destination reported
// them as linked to existing accounts.)
func TestSharedEmailsAreNotExistingAccounts(t *testing.T) {
	fx := newFixture(t, 1, 30)
	rep := run(t, fx.archive, newDest(t, "empty.db"), Options{AllowMissingApps: true})
	if len(rep.Duplicates) == 0 {
		t.Fatal("the generated source has no shared emails to test with")
	}
	if len(rep.Linked) != 0 {
		t.Errorf("an empty destination: %d users linked to existing accounts: %q", len(rep.Linked), rep.Linked)
	}
	if len(rep.SameEmail) != len(rep.Duplicates) {
		t.Errorf("%d users reported as sharing an email, %d duplicate emails", len(rep.SameEmail), len(rep.Duplicates))
	}
}
