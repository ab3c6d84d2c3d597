package archive

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// Identify names an archive by its header and manifest, read from its ends,
// signed or not; a damaged manifest is refused, and a damaged blob is not
// seen (Verify's job).
func TestIdentify(t *testing.T) {
	seen := map[string]string{}
	for _, name := range []string{"golden-1.0.ferry", "golden-1.1.ferry", "golden-1.2.ferry"} {
		path := filepath.Join("..", "spec", "testdata", name)
		h, id, err := Identify(path)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if h.ArchiveID == "" || len(id) != 64 {
			t.Errorf("%s: archive %q, identity %q", name, h.ArchiveID, id)
		}
		if _, again, _ := Identify(path); again != id {
			t.Errorf("%s: identity changed between two calls", name)
		}
		if other, ok := seen[id]; ok {
			t.Errorf("%s and %s share an identity", name, other)
		}
		seen[id] = name
	}

	data, err := os.ReadFile(filepath.Join("..", "spec", "testdata", "golden-1.2.ferry"))
	if err != nil {
		t.Fatal(err)
	}
	_, want, _ := Identify(filepath.Join("..", "spec", "testdata", "golden-1.2.ferry"))
	f, err := NewFile(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	var blob *Member
	for _, m := range f.Members() {
		if m.Kind == KindBlob && m.Size > 0 {
			blob = m
		}
	}
	dir := t.TempDir()
	damaged := bytes.Clone(data)
	damaged[blob.Offset] ^= 0xff
	p := filepath.Join(dir, "blob.ferry")
	os.WriteFile(p, damaged, 0o600)
	if _, got, err := Identify(p); err != nil || got != want {
		t.Errorf("a damaged blob: identity %s, %v; want %s (members are not read)", got, err, want)
	}
	damaged = bytes.Clone(data)
	at := bytes.LastIndex(damaged, []byte(`"archive_id"`))
	damaged[at+2] ^= 0x01
	p = filepath.Join(dir, "manifest.ferry")
	os.WriteFile(p, damaged, 0o600)
	if _, _, err := Identify(p); err == nil {
		t.Error("a damaged manifest was identified")
	}
}
