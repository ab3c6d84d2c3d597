package embedded

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ferry/model"
)

func TestCreateOpenAndRefuse(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "odd name?#%.db")
	s, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	id := s.ID()
	err = s.Update(context.Background(), time.Now(), "", func(tx *Tx) error {
		return tx.PutUser(model.User{AccountID: "u1", DisplayName: "Ada", Status: "active", AccountType: "atlassian"})
	})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("the site is not at its path: %v", err)
	}
	s, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if s.ID() != id {
		t.Errorf("reopened site has id %s, want %s", s.ID(), id)
	}
	if rev, _ := s.Rev(context.Background()); rev != 1 {
		t.Errorf("rev = %d, want 1", rev)
	}
	s.Close()
	if _, err := Create(path); err == nil {
		t.Error("Create over an existing site succeeded")
	}
	if _, err := Open(filepath.Join(dir, "missing.db")); err == nil {
		t.Error("Open of a missing site succeeded")
	}
	if _, err := os.Stat(filepath.Join(dir, "missing.db")); err == nil {
		t.Error("Open created a missing site")
	}
	junk := filepath.Join(dir, "junk.db")
	os.WriteFile(junk, []byte(strings.Repeat("junk", 1000)), 0o644)
	if _, err := Open(junk); !errors.Is(err, ErrNotSite) {
		t.Errorf("Open(junk) = %v, want ErrNotSite", err)
	}
}

func TestFailedUpdateWritesNothing(t *testing.T) {
	s, err := Create(filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	err = s.Update(ctx, time.Now(), "", func(tx *Tx) error {
		if err := tx.CreateGroup(model.Group{ID: "g1", Name: "eng"}); err != nil {
			return err
		}
		return tx.AddMembership(model.Membership{GroupID: "g1", AccountID: "nobody"}) // foreign key fails
	})
	if err == nil {
		t.Fatal("a membership of a missing user was accepted")
	}
	var groups int
	s.DB().QueryRow(`SELECT count(*) FROM groups`).Scan(&groups)
	if rev, _ := s.Rev(ctx); groups != 0 || rev != 0 {
		t.Fatalf("after a failed update: %d groups, rev %d; want nothing written", groups, rev)
	}
}
