package archive

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
)

// SignatureName is the trailer member that signs the manifest (spec §7.1).
const SignatureName = trailerPrefix + "signature.json"

// maxSignatureSize bounds the signature trailer.
const maxSignatureSize = 64 << 10

// ErrSignature means an archive's signature is missing, malformed or does
// not match its manifest.
var ErrSignature = errors.New("bad signature")

// Signature is the signature trailer: an ed25519 signature over the exact
// bytes of manifest.json, which lists every member's SHA-256, so it covers
// the whole archive.
type Signature struct {
	Algorithm string `json:"algorithm"` // "ed25519"
	KeyID     string `json:"key_id"`    // KeyID of PublicKey
	Signer    string `json:"signer"`    // a name the key's owner gave it; informative
	PublicKey []byte `json:"public_key"`
	Signature []byte `json:"signature"`
}

// KeyID names a public key: "SHA256:" and the unpadded base64 of the
// key's SHA-256, as ssh-keygen -l shows keys.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return "SHA256:" + base64.RawStdEncoding.EncodeToString(sum[:])
}

// WithSigner signs the archive: after the manifest, Close writes the
// signature trailer with key's signature over the manifest's bytes.
func WithSigner(key ed25519.PrivateKey, signer string) Option {
	return func(w *Writer) { w.signKey, w.signer = key, signer }
}

func sign(manifest []byte, key ed25519.PrivateKey, signer string) ([]byte, error) {
	pub := key.Public().(ed25519.PublicKey)
	return json.Marshal(&Signature{Algorithm: "ed25519", KeyID: KeyID(pub), Signer: signer, PublicKey: pub,
		Signature: ed25519.Sign(key, manifest)})
}

// checkSignature parses a signature trailer and checks it against the
// manifest's bytes with the public key it names.
func checkSignature(data, manifest []byte) (*Signature, error) {
	var s Signature
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, errorf(SignatureName, -1, ErrSignature, "not JSON: %v", err)
	}
	switch {
	case s.Algorithm != "ed25519":
		return nil, errorf(SignatureName, -1, ErrSignature, "algorithm %q is not ed25519", s.Algorithm)
	case len(s.PublicKey) != ed25519.PublicKeySize:
		return nil, errorf(SignatureName, -1, ErrSignature, "public key of %d bytes", len(s.PublicKey))
	case s.KeyID != KeyID(s.PublicKey):
		return nil, errorf(SignatureName, -1, ErrSignature, "key id %s does not name the public key (%s)", s.KeyID, KeyID(s.PublicKey))
	case !ed25519.Verify(s.PublicKey, manifest, s.Signature):
		return nil, errorf(SignatureName, -1, ErrSignature, "the signature by %s (%s) does not match the manifest", s.Signer, s.KeyID)
	}
	return &s, nil
}

// Trusted checks that s was made by one of the trusted keys.
func (s *Signature) Trusted(trusted []ed25519.PublicKey) error {
	for _, k := range trusted {
		if bytes.Equal(k, s.PublicKey) {
			return nil
		}
	}
	return fmt.Errorf("%w: signed by %q (%s), a key that is not trusted", ErrSignature, s.Signer, s.KeyID)
}

// Signature returns the archive's checked signature, or nil when it is not
// signed. An error means the signature is there but does not hold.
func (f *File) Signature() (*Signature, error) {
	for _, m := range f.trailers {
		if m.Name != SignatureName {
			continue
		}
		data, err := readSmall(f.raw(m), m.Name, maxSignatureSize)
		if err != nil {
			return nil, err
		}
		return checkSignature(data, f.manifestRaw)
	}
	return nil, nil
}
