package archive

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
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
	blob := someBlob(t, data)
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

// ReadManifest says what Open says of an archive's header and manifest,
// for every format (1.0's layout by walking it) and for signed archives,
// while reading no member: a damaged blob goes unseen, a damaged manifest
// is refused.
func TestReadManifest(t *testing.T) {
	paths := map[string]string{
		"fixture": writeFile(t, makeFixture(2000, 120, 4).bytes(t)),
		"signed":  writeFile(t, signedArchive(t, newKey(t, 1))),
	}
	for _, v := range []string{"1.0", "1.1", "1.2", "1.3"} {
		paths["golden "+v] = filepath.Join(goldenDir, "golden-"+v+".ferry")
	}
	for name, path := range paths {
		full, err := Open(path)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		h, m, err := ReadManifest(path)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !reflect.DeepEqual(h, full.Header()) {
			t.Errorf("%s: header %+v, Open says %+v", name, h, full.Header())
		}
		if !reflect.DeepEqual(m, full.Manifest()) {
			t.Errorf("%s: manifest %+v, Open says %+v", name, m, full.Manifest())
		}
		for _, e := range m.Members {
			if k, _, _, _ := kindOf(e.Name); k == KindBlob {
				t.Errorf("%s: blob %s kept among the manifest's members", name, e.Name)
			}
		}
		full.Close()
	}

	data := makeFixture(300, 20, 6).bytes(t)
	blob := someBlob(t, data)
	damaged := bytes.Clone(data)
	damaged[blob.Offset] ^= 0xff
	if _, _, err := ReadManifest(writeFile(t, damaged)); err != nil {
		t.Errorf("a damaged blob: %v (members are not read)", err)
	}
	damaged = bytes.Clone(data)
	at := bytes.LastIndex(damaged, []byte(`"watermark"`))
	if at < 0 {
		t.Fatal("the fixture's manifest has no watermark")
	}
	damaged[at+2] ^= 0x01
	_, _, err := ReadManifest(writeFile(t, damaged))
	var ae *Error
	if !errors.As(err, &ae) || ae.Member != ManifestName || !errors.Is(err, ErrChecksum) {
		t.Errorf("a damaged manifest: %v, want a checksum error naming %s", err, ManifestName)
	}
	if _, _, err := ReadManifest(filepath.Join(t.TempDir(), "missing.ferry")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a missing file: %v", err)
	}
}

// someBlob is a non-empty blob of the archive data.
func someBlob(t *testing.T, data []byte) *Member {
	t.Helper()
	f, err := NewFile(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range f.Members() {
		if m.Kind == KindBlob && m.Size > 0 {
			return m
		}
	}
	t.Fatal("no blob with content")
	return nil
}
