package archive

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"strings"
	"testing"
)

func signedArchive(t *testing.T, key ed25519.PrivateKey) []byte {
	t.Helper()
	var buf bytes.Buffer
	makeFixture(300, 12, 9).write(t, &buf, WithSigner(key, "source-org"))
	return buf.Bytes()
}

func newKey(t *testing.T, seed byte) ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize))
}

// A signed archive verifies and names its signer in both reading modes;
// changing any member's bytes, or re-signing a changed manifest with
// another key, is caught.
func TestSignature(t *testing.T) {
	key, other := newKey(t, 1), newKey(t, 2)
	data := signedArchive(t, key)
	rep := verify(t, data)
	if !rep.Intact || rep.Signature == nil || rep.Signature.Signer != "source-org" || rep.Signature.KeyID != KeyID(key.Public().(ed25519.PublicKey)) {
		t.Fatalf("report %+v", rep)
	}
	f, err := NewFile(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	sig, err := f.Signature()
	if err != nil || sig == nil {
		t.Fatalf("signature %v, %v", sig, err)
	}
	if err := sig.Trusted([]ed25519.PublicKey{other.Public().(ed25519.PublicKey)}); !errors.Is(err, ErrSignature) {
		t.Errorf("trusted by another key: %v", err)
	}
	if err := sig.Trusted([]ed25519.PublicKey{key.Public().(ed25519.PublicKey)}); err != nil {
		t.Error(err)
	}

	// Tamper with each member in turn: the report names it.
	for _, m := range f.Members() {
		bad := bytes.Clone(data)
		bad[m.Offset+m.Size/2] ^= 0x20
		rep := verify(t, bad)
		if rep.Intact || len(rep.Problems) == 0 || !strings.Contains(rep.Problems[0].Member, m.Name) {
			t.Errorf("changed %s: report %+v", m.Name, rep.Problems)
		}
	}

	// The manifest itself.
	bad := bytes.Clone(data)
	bad[bytes.LastIndex(bad, []byte(`"manifest_checksum"`))-40] ^= 0x01
	if rep := verify(t, bad); rep.Intact || rep.Problems[0].Member != ManifestName {
		t.Errorf("changed manifest: report %+v", rep.Problems)
	}

	// An attacker rewrites the whole archive with other content and signs
	// it with their key: intact, but not signed by a trusted key.
	var forged bytes.Buffer
	makeFixture(300, 12, 10).write(t, &forged, WithSigner(other, "source-org"))
	rep = verify(t, forged.Bytes())
	if !rep.Intact || rep.Signature == nil {
		t.Fatalf("forged report %+v", rep)
	}
	if err := rep.Signature.Trusted([]ed25519.PublicKey{key.Public().(ed25519.PublicKey)}); err == nil {
		t.Error("a signature by another key is trusted")
	}

	// The same manifest with a signature trailer made over other bytes.
	unsigned := makeFixture(300, 12, 9).bytes(t)
	if rep := verify(t, unsigned); rep.Signature != nil {
		t.Error("an unsigned archive reports a signature")
	}
}
