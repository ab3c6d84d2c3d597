// Package trust reads and writes the key files that make archives safe to
// hand between organizations: ed25519 signing keys (PEM, PKCS #8 and PKIX,
// so openssl reads them too) and age identities and recipients for
// encryption. Private keys are files with mode 0600; nothing here prints
// one.
package trust

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"

	"filippo.io/age"
)

// signerHeader is the PEM header naming a key's owner.
const signerHeader = "Signer"

// GenerateSigningKey writes a new ed25519 key pair: the private key to path
// (mode 0600) and the public key to path.pub. It refuses to overwrite
// either file.
func GenerateSigningKey(path, signer string) (ed25519.PublicKey, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, err
	}
	pubDER, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, err
	}
	headers := map[string]string{signerHeader: signer}
	if err := writeNew(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Headers: headers, Bytes: der}), 0o600); err != nil {
		return nil, err
	}
	if err := writeNew(path+".pub", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Headers: headers, Bytes: pubDER}), 0o644); err != nil {
		os.Remove(path)
		return nil, err
	}
	return pub, nil
}

// GenerateAgeIdentity writes a new age X25519 identity to path (mode 0600)
// and its recipient to path.pub, and returns the recipient.
func GenerateAgeIdentity(path string) (string, error) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		return "", err
	}
	rcpt := id.Recipient().String()
	if err := writeNew(path, []byte("# public key: "+rcpt+"\n"+id.String()+"\n"), 0o600); err != nil {
		return "", err
	}
	if err := writeNew(path+".pub", []byte(rcpt+"\n"), 0o644); err != nil {
		os.Remove(path)
		return "", err
	}
	return rcpt, nil
}

// writeNew writes a file that must not exist yet.
func writeNew(path string, data []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("%s exists: keys are never overwritten; choose another name", path)
		}
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	return f.Close()
}

// LoadSigningKey reads a private key written by GenerateSigningKey, and
// the signer name it carries.
func LoadSigningKey(path string) (ed25519.PrivateKey, string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, "", fmt.Errorf("signing key: %w", err)
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, "", fmt.Errorf("signing key %s: not a PEM private key (make one with ferry keygen)", path)
	}
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, "", fmt.Errorf("signing key %s: %v", path, err)
	}
	priv, ok := key.(ed25519.PrivateKey)
	if !ok {
		return nil, "", fmt.Errorf("signing key %s: a %T, not an ed25519 key", path, key)
	}
	return priv, block.Headers[signerHeader], nil
}

// LoadPublicKeys reads the public keys of a trust list: each path is a
// file written by GenerateSigningKey (NAME.pub).
func LoadPublicKeys(paths []string) ([]ed25519.PublicKey, error) {
	var keys []ed25519.PublicKey
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("trusted key: %w", err)
		}
		block, _ := pem.Decode(data)
		if block == nil || block.Type != "PUBLIC KEY" {
			return nil, fmt.Errorf("trusted key %s: not a PEM public key (give the NAME.pub file of ferry keygen)", p)
		}
		key, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("trusted key %s: %v", p, err)
		}
		pub, ok := key.(ed25519.PublicKey)
		if !ok {
			return nil, fmt.Errorf("trusted key %s: a %T, not an ed25519 key", p, key)
		}
		keys = append(keys, pub)
	}
	return keys, nil
}

// LoadIdentities reads age identities from a file (as age-keygen or ferry
// keygen --age write them).
func LoadIdentities(path string) ([]age.Identity, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("identity: %w", err)
	}
	ids, err := age.ParseIdentities(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("identity %s: %v", path, err)
	}
	return ids, nil
}

// ParseRecipients parses age recipients ("age1...") given on the command
// line; a value may also name a file of recipients, one per line.
func ParseRecipients(values []string) ([]age.Recipient, error) {
	var out []age.Recipient
	for _, v := range values {
		text := v
		if !strings.HasPrefix(v, "age1") {
			data, err := os.ReadFile(v)
			if err != nil {
				return nil, fmt.Errorf("recipient %q is neither an age public key (age1...) nor a readable file: %v", v, err)
			}
			text = string(data)
		}
		rs, err := age.ParseRecipients(strings.NewReader(text))
		if err != nil {
			return nil, fmt.Errorf("recipient %q: %v", v, err)
		}
		out = append(out, rs...)
	}
	return out, nil
}
