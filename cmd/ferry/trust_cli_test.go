package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"ferry/archive"
)

// must is ferry with a check of the exit code.
func must(t *testing.T, want int, args ...string) (string, string) {
	t.Helper()
	out, errOut, code := ferry(t, nil, args...)
	if code != want {
		t.Fatalf("ferry %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, want, out, errOut)
	}
	return out, errOut
}

// smallSite generates a site and exports it, returning the folder, the
// site and the archive. The archive is written with extra export flags.
func smallSite(t *testing.T, flags ...string) (dir, site, arch string) {
	t.Helper()
	dir = t.TempDir()
	site, arch = filepath.Join(dir, "s.db"), filepath.Join(dir, "s.ferry")
	must(t, 0, "generate", "--out", site, "--users", "30", "--spaces", "3", "--pages", "60", "--progress", "never")
	must(t, 0, append([]string{"export", "--from", site, "--out", arch, "--progress", "never"}, flags...)...)
	return dir, site, arch
}

// sourceSecrets are personal data and content of the source site: every
// email, and some page titles and body text.
func sourceSecrets(t *testing.T, arch string, more ...string) []string {
	t.Helper()
	var secrets []string
	for _, q := range []string{
		`SELECT email FROM users WHERE email IS NOT NULL`,
		`SELECT DISTINCT title FROM page_versions LIMIT 20`,
		`SELECT DISTINCT substr(body, 40, 24) FROM page_versions WHERE length(body) > 80 LIMIT 20`,
	} {
		out, _ := must(t, 0, append([]string{"inspect", arch, "--sql", q, "--format", "csv"}, more...)...)
		lines := strings.Split(strings.TrimSpace(out), "\n")[1:]
		if len(lines) == 0 {
			t.Fatalf("no values for %s", q)
		}
		secrets = append(secrets, lines...)
	}
	return secrets
}

func TestSignedArchives(t *testing.T) {
	dir, site, _ := smallSite(t)
	src, other := filepath.Join(dir, "src"), filepath.Join(dir, "other")
	out, _ := must(t, 0, "keygen", "--out", src, "--signer", "Source IT")
	if !strings.Contains(out, "SHA256:") {
		t.Errorf("keygen does not show the key id:\n%s", out)
	}
	if st, err := os.Stat(src); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("private key mode: %v %v", st, err)
	}
	must(t, 1, "keygen", "--out", src) // never overwrites
	// Another key whose owner claims the same name.
	must(t, 0, "keygen", "--out", other, "--signer", "Source IT")

	signed := filepath.Join(dir, "signed.ferry")
	must(t, 0, "export", "--from", site, "--out", signed, "--sign", src, "--progress", "never")
	out, _ = must(t, 0, "verify", signed)
	if !strings.Contains(out, "signature by Source IT") {
		t.Errorf("verify does not name the signer:\n%s", out)
	}
	out, _ = must(t, 0, "verify", signed, "--trust", other+".pub,"+src+".pub")
	if !strings.Contains(out, "a trusted key") {
		t.Errorf("verify --trust:\n%s", out)
	}
	out, _ = must(t, 1, "verify", signed, "--trust", other+".pub")
	if !strings.Contains(out, "NOT TRUSTED") {
		t.Errorf("verify with the wrong key:\n%s", out)
	}
	unsigned := filepath.Join(dir, "s.ferry")
	out, _ = must(t, 1, "verify", unsigned, "--trust", src+".pub")
	if !strings.Contains(out, "not signed") {
		t.Errorf("verify of an unsigned archive with --trust:\n%s", out)
	}

	// A forger re-exports (any content) with another key under the same
	// signer name: the archive is intact but not trusted.
	forged := filepath.Join(dir, "forged.ferry")
	must(t, 0, "export", "--from", site, "--out", forged, "--sign", other, "--progress", "never")
	must(t, 1, "verify", forged, "--trust", src+".pub")

	// Tampering with any member of the signed archive is caught and named.
	data, _ := os.ReadFile(signed)
	f, err := archive.Open(signed)
	if err != nil {
		t.Fatal(err)
	}
	members := f.Members()
	f.Close()
	for i, m := range members {
		if i%5 != 0 && m.Kind == archive.KindBlob {
			continue // a sample of the blobs keeps the test fast
		}
		bad := bytes.Clone(data)
		bad[m.Offset+m.Size/2] ^= 0x01
		path := filepath.Join(dir, "tampered.ferry")
		os.WriteFile(path, bad, 0o644)
		out, _, code := ferry(t, nil, "verify", path, "--trust", src+".pub")
		if code != 1 || !strings.Contains(out, m.Name) {
			t.Errorf("changed %s: exit %d\n%s", m.Name, code, out)
		}
	}

	// import refuses what is not signed by a trusted key, before any write.
	copyDB := filepath.Join(dir, "copy.db")
	_, errOut := must(t, 1, "import", forged, "--to", copyDB, "--trust", src+".pub")
	if !strings.Contains(errOut, "not trusted") {
		t.Errorf("import of a forged archive: %s", errOut)
	}
	_, errOut = must(t, 1, "import", unsigned, "--to", copyDB, "--trust", src+".pub")
	if !strings.Contains(errOut, "not signed") {
		t.Errorf("import of an unsigned archive: %s", errOut)
	}
	if _, err := os.Stat(copyDB); err == nil {
		t.Fatal("a refused import created the destination")
	}
	must(t, 0, "import", signed, "--to", copyDB, "--allow-missing-apps", "--trust", src+".pub")
	must(t, 0, "compare", site, copyDB)
}

func TestEncryptedArchives(t *testing.T) {
	dir, site, plain := smallSite(t)
	rev, wrong := filepath.Join(dir, "reviewer"), filepath.Join(dir, "wrong")
	must(t, 0, "keygen", "--out", rev, "--age")
	must(t, 0, "keygen", "--out", wrong, "--age")
	rcpt, _ := os.ReadFile(rev + ".pub")
	recipient := strings.TrimSpace(string(rcpt))
	sealed := filepath.Join(dir, "sealed.ferry")
	must(t, 0, "export", "--from", site, "--out", sealed, "--recipient", recipient, "--progress", "never")
	secrets := sourceSecrets(t, plain)

	// Nothing personal in the file's bytes, nor in what tar extracts: the
	// members other than header and manifest are age ciphertext.
	data, _ := os.ReadFile(sealed)
	for _, s := range secrets {
		if bytes.Contains(data, []byte(s)) {
			t.Errorf("%q is in the encrypted archive's bytes", s)
		}
	}
	x := filepath.Join(dir, "x")
	os.Mkdir(x, 0o755)
	if out, err := exec.Command("tar", "-xf", sealed, "-C", x).CombinedOutput(); err != nil {
		t.Fatalf("tar: %v %s", err, out)
	}
	filepath.Walk(x, func(p string, info os.FileInfo, err error) error {
		if info.IsDir() {
			return nil
		}
		b, _ := os.ReadFile(p)
		name, _ := filepath.Rel(x, p)
		if name != archive.HeaderName && name != archive.ManifestName && !bytes.HasPrefix(b, []byte("age-encryption.org/v1\n")) {
			t.Errorf("member %s is not age ciphertext", name)
		}
		return nil
	})

	// verify checks the encrypted bytes without a key, everything with one.
	out, _ := must(t, 0, "verify", sealed)
	if !strings.Contains(out, "encrypted for "+recipient) {
		t.Errorf("verify without a key:\n%s", out)
	}
	out, _ = must(t, 0, "verify", sealed, "--identity", rev)
	if !strings.Contains(out, "decrypted and checked") {
		t.Errorf("verify with the key:\n%s", out)
	}

	// Without the right identity: a clear error naming the recipients, and
	// nothing written.
	copyDB := filepath.Join(dir, "copy.db")
	for _, args := range [][]string{
		{"inspect", sealed},
		{"inspect", sealed, "--identity", wrong},
		{"import", sealed, "--to", copyDB},
		{"import", sealed, "--to", copyDB, "--identity", wrong},
		{"compare", sealed, site},
	} {
		_, errOut := must(t, 1, args...)
		if !strings.Contains(errOut, "encrypted for "+recipient) {
			t.Errorf("ferry %s: %s", strings.Join(args, " "), errOut)
		}
	}
	if _, err := os.Stat(copyDB); err == nil {
		t.Fatal("an import without the key created the destination")
	}

	// With it, everything works.
	out, _ = must(t, 0, "inspect", sealed, "--identity", rev, "--format", "json")
	var sum struct{ Events int64 }
	json.Unmarshal([]byte(out), &sum)
	if sum.Events == 0 {
		t.Errorf("inspect with the key: %s", out)
	}
	must(t, 0, "import", sealed, "--to", copyDB, "--allow-missing-apps", "--identity", rev)
	must(t, 0, "compare", sealed, copyDB, "--identity", rev)
	must(t, 0, "compare", site, copyDB)
}

func TestRedactedArchives(t *testing.T) {
	dir, site, full := smallSite(t)
	keyFile := filepath.Join(dir, "redact.key")
	os.WriteFile(keyFile, []byte("a secret pseudonym key, 32 bytes"), 0o600)
	red, again := filepath.Join(dir, "red.ferry"), filepath.Join(dir, "again.ferry")
	must(t, 0, "redact", full, "--out", red, "--key-file", keyFile)
	must(t, 0, "redact", full, "--out", again, "--key-file", keyFile, "--fields", "emails,names")

	// No email of the source anywhere: not in the file's bytes, not in any
	// event, header or manifest once decoded.
	var emails []string
	out, _ := must(t, 0, "inspect", full, "--sql", "SELECT email FROM users WHERE email IS NOT NULL", "--format", "csv")
	emails = append(emails, strings.Split(strings.TrimSpace(out), "\n")[1:]...)
	for _, path := range []string{red, again} {
		var decoded bytes.Buffer
		f, err := archive.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		h, _ := json.Marshal(f.Header())
		m, _ := json.Marshal(f.Manifest())
		decoded.Write(h)
		decoded.Write(m)
		it := f.Events()
		for it.Next() {
			decoded.Write(it.Event().Payload)
		}
		it.Close()
		f.Close()
		data, _ := os.ReadFile(path)
		for _, e := range emails {
			if bytes.Contains(decoded.Bytes(), []byte(e)) || bytes.Contains(data, []byte(e)) {
				t.Errorf("%s holds %s", filepath.Base(path), e)
			}
		}
	}

	// Counts unchanged; it inspects like any other archive.
	counts := func(path string) string {
		out, _ := must(t, 0, "inspect", path, "--format", "json")
		var s struct {
			ByKind map[string]int64 `json:"events_by_kind"`
		}
		json.Unmarshal([]byte(out), &s)
		b, _ := json.Marshal(s.ByKind)
		return string(b)
	}
	if a, b := counts(full), counts(red); a != b {
		t.Errorf("counts differ:\n original %s\n redacted %s", a, b)
	}

	// Pseudonyms are stable across copies made with the same key, and
	// across archives: an increment's users get the same ones.
	pseudonyms := func(path string) map[string]string {
		out, _ := must(t, 0, "inspect", path, "--sql", "SELECT account_id, email FROM users WHERE email IS NOT NULL", "--format", "csv")
		m := map[string]string{}
		for _, l := range strings.Split(strings.TrimSpace(out), "\n")[1:] {
			id, email, _ := strings.Cut(l, ",")
			m[id] = email
		}
		return m
	}
	p1, p2 := pseudonyms(red), pseudonyms(again)
	if len(p1) == 0 {
		t.Fatal("no users in the redacted copy")
	}
	for id, e := range p1 {
		if !strings.HasSuffix(e, "@redacted.invalid") || p2[id] != e {
			t.Errorf("user %s: %s and %s", id, e, p2[id])
		}
	}
	must(t, 0, "generate", "--evolve", site, "--changes", "500", "--progress", "never")
	inc, redInc := filepath.Join(dir, "inc.ferry"), filepath.Join(dir, "red-inc.ferry")
	must(t, 0, "export", "--from", site, "--out", inc, "--since", full, "--progress", "never")
	must(t, 0, "redact", inc, "--out", redInc, "--key-file", keyFile)
	shared := 0
	for id, e := range pseudonyms(redInc) {
		if p1[id] != "" {
			shared++
			if p1[id] != e {
				t.Errorf("user %s is %s in the full copy, %s in the increment's", id, p1[id], e)
			}
		}
	}
	if shared == 0 {
		t.Error("no user of the increment is in the full archive: pseudonym stability is not exercised")
	}
	// The redacted chain still links, and a redacted copy is never imported.
	must(t, 0, "inspect", red, redInc, "--format", "json")
	_, errOut := must(t, 1, "import", red, "--to", filepath.Join(dir, "copy.db"))
	if !strings.Contains(errOut, "redacted") {
		t.Errorf("import of a redacted copy: %s", errOut)
	}
}
