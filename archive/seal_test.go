package archive

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"
)

// An encrypted archive reads back with an identity of a recipient, in
// every mode, holds none of its plaintext, still verifies without a key,
// and says for whom it is encrypted when the key is missing or wrong.
func TestEncryptedArchive(t *testing.T) {
	alice, _ := age.GenerateX25519Identity()
	bob, _ := age.GenerateX25519Identity()
	mallory, _ := age.GenerateX25519Identity()
	fx := makeFixture(2000, 40, 21)
	var buf bytes.Buffer
	fx.write(t, &buf, WithRecipients(alice.Recipient(), bob.Recipient()))
	data := buf.Bytes()

	for _, secret := range []string{"lorem ipsum", `"title":"page 1`, "attachment 3 "} {
		if bytes.Contains(data, []byte(secret)) {
			t.Errorf("the encrypted archive holds %q in plaintext", secret)
		}
	}
	path := filepath.Join(t.TempDir(), "sealed.ferry")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}

	// Bob reads everything, by both random-access modes and the stream.
	for _, open := range []func(string, ...ReadOption) (*File, error){Open, OpenQuick} {
		f, err := open(path, WithIdentities(bob))
		if err != nil {
			t.Fatal(err)
		}
		if err := f.CheckIdentities(); err != nil {
			t.Fatal(err)
		}
		checkEvents(t, f.Events(), fx.events)
		for _, b := range fx.blobs {
			r, err := f.OpenBlob(digestOf(b))
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(r)
			r.Close()
			if err != nil || !bytes.Equal(got, b) {
				t.Fatalf("blob: %v", err)
			}
		}
		f.Close()
	}
	if rep := verify(t, data, WithIdentities(alice)); !rep.Intact || rep.Sealed || rep.Events != int64(len(fx.events)) {
		t.Fatalf("verify with a key: %+v", rep)
	}

	// Without a key, integrity is still checked, and a changed byte found.
	rep := verify(t, data)
	if !rep.Intact || !rep.Encrypted || !rep.Sealed {
		t.Fatalf("verify without a key: %+v", rep)
	}
	f, _ := NewFile(bytes.NewReader(data), int64(len(data)))
	seg := f.Segments()[0]
	bad := bytes.Clone(data)
	bad[seg.Offset+seg.Size/2] ^= 1
	if rep := verify(t, bad); rep.Intact || rep.Problems[0].Member != seg.Name {
		t.Errorf("changed ciphertext: %+v", rep.Problems)
	}

	// No key, or the wrong one: an error that says for whom.
	for _, ids := range [][]age.Identity{nil, {mallory}} {
		f, err := NewFile(bytes.NewReader(data), int64(len(data)), WithIdentities(ids...))
		if err != nil {
			t.Fatal(err)
		}
		err = f.CheckIdentities()
		if !errors.Is(err, ErrEncrypted) || !strings.Contains(err.Error(), alice.Recipient().String()) {
			t.Errorf("identities %v: %v", ids, err)
		}
		it := f.Events()
		it.Next()
		if !errors.Is(it.Err(), ErrEncrypted) {
			t.Errorf("reading events: %v", it.Err())
		}
	}
}
