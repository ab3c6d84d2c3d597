package trust

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSigningKeyFiles(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "k")
	pub, err := GenerateSigningKey(path, "ACME IT")
	if err != nil {
		t.Fatal(err)
	}
	priv, signer, err := LoadSigningKey(path)
	if err != nil || signer != "ACME IT" || !pub.Equal(priv.Public()) {
		t.Fatalf("loaded %v %q: %v", priv, signer, err)
	}
	keys, err := LoadPublicKeys([]string{path + ".pub"})
	if err != nil || len(keys) != 1 || !keys[0].Equal(pub) {
		t.Fatalf("public keys %v: %v", keys, err)
	}
	if _, err := GenerateSigningKey(path, "again"); err == nil || !strings.Contains(err.Error(), "never overwritten") {
		t.Errorf("overwrite: %v", err)
	}
	// The wrong file in each place gets an error that says what to give.
	if _, err := LoadPublicKeys([]string{path}); err == nil || !strings.Contains(err.Error(), "NAME.pub") {
		t.Errorf("private key as trusted key: %v", err)
	}
	if _, _, err := LoadSigningKey(path + ".pub"); err == nil || !strings.Contains(err.Error(), "ferry keygen") {
		t.Errorf("public key as signing key: %v", err)
	}
}

func TestAgeFiles(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "id")
	rcpt, err := GenerateAgeIdentity(path)
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Errorf("identity mode %v", st.Mode())
	}
	if ids, err := LoadIdentities(path); err != nil || len(ids) != 1 {
		t.Fatalf("identities %v: %v", ids, err)
	}
	for _, v := range []string{rcpt, path + ".pub"} {
		if rs, err := ParseRecipients([]string{v}); err != nil || len(rs) != 1 {
			t.Errorf("recipient %s: %v %v", v, rs, err)
		}
	}
	if _, err := ParseRecipients([]string{"age1nonsense"}); err == nil {
		t.Error("a malformed recipient is accepted")
	}
}
