package archive

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"io"
	"math/rand"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"testing"
)

func writeFile(t testing.TB, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "a.ferry")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// readAll reads every member of f through the checks a reader relies on:
// every event and every blob.
func readMembers(f *File) error {
	it := f.Events()
	for it.Next() {
	}
	if err := it.Err(); err != nil {
		return err
	}
	it.Close()
	for _, m := range f.Members() {
		if m.Kind != KindBlob {
			continue
		}
		r, err := f.OpenBlob(m.Digest)
		if err != nil {
			return err
		}
		_, err = io.Copy(io.Discard, r)
		r.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// OpenQuick finds the same members, events and blobs as Open.
func TestOpenQuickMatchesOpen(t *testing.T) {
	fx := makeFixture(5000, 300, 11)
	path := writeFile(t, fx.bytes(t))
	full, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer full.Close()
	quick, err := OpenQuick(path)
	if err != nil {
		t.Fatal(err)
	}
	defer quick.Close()
	if !reflect.DeepEqual(full.Members(), quick.Members()) {
		t.Fatal("members differ between Open and OpenQuick")
	}
	if !reflect.DeepEqual(full.Manifest(), quick.Manifest()) || !reflect.DeepEqual(full.Header(), quick.Header()) {
		t.Fatal("manifest or header differ")
	}
	checkEvents(t, quick.Events(), fx.events)
	for _, b := range fx.blobs {
		r, err := quick.OpenBlob(digestOf(b))
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(r)
		r.Close()
		if err != nil || !bytes.Equal(got, b) {
			t.Fatalf("blob %s: %v", digestOf(b), err)
		}
	}
}

// Archives without member positions (format 1.0) open the long way.
func TestOpenQuickFallsBack(t *testing.T) {
	f, err := OpenQuick(filepath.Join(goldenDir, "golden-1.0.ferry"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Header().Version != "1.0" || len(f.Segments()) != 1 {
		t.Fatalf("header %+v", f.Header())
	}
	if err := readMembers(f); err != nil {
		t.Fatal(err)
	}
}

// A changed byte is found by OpenQuick or by reading the member that holds
// it, unless it is in the tar headers and padding between members, which
// OpenQuick does not read (Open and Verify check those).
func TestOpenQuickDetectsChangedBytes(t *testing.T) {
	fx := makeFixture(400, 30, 5)
	data := fx.bytes(t)
	f, err := NewFile(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	// The bytes OpenQuick reads: the header member's tar headers and data,
	// every member's data, the manifest's header block, data and the end.
	read := make([]bool, len(data))
	members := f.Members()
	for i := int64(0); i < members[0].Offset+members[0].Size; i++ {
		read[i] = true
	}
	for _, m := range members {
		for i := m.Offset; i < m.Offset+m.Size; i++ {
			read[i] = true
		}
	}
	start, _, err := findManifest(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	for i := start; i < int64(len(data)); i++ {
		read[i] = true
	}
	rng := rand.New(rand.NewSource(3))
	tried, missed := 0, 0
	for tried < 1500 {
		at := rng.Intn(len(data))
		if !read[at] {
			continue
		}
		tried++
		bad := bytes.Clone(data)
		bad[at] ^= byte(1 + rng.Intn(255))
		path := writeFile(t, bad)
		q, err := OpenQuick(path)
		if err == nil {
			err = readMembers(q)
			q.Close()
		}
		if err == nil {
			missed++
			t.Errorf("byte %d changed, not detected", at)
		}
		if missed > 5 {
			t.Fatal("giving up")
		}
	}
}

// BenchmarkOpen compares opening an archive of many small blobs by walking
// its tar headers with opening it by its manifest.
func BenchmarkOpen(b *testing.B) {
	fx := makeFixture(20000, 20000, 2)
	path := writeFile(b, fx.bytes(b))
	for _, mode := range []struct {
		name string
		open func(string, ...ReadOption) (*File, error)
	}{{"walk", Open}, {"quick", OpenQuick}} {
		b.Run(mode.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				f, err := mode.open(path)
				if err != nil {
					b.Fatal(err)
				}
				f.Close()
			}
			// What an open File holds per blob: the part of a reader's
			// memory that grows with the archive.
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			f, err := mode.open(path)
			if err != nil {
				b.Fatal(err)
			}
			runtime.GC()
			runtime.ReadMemStats(&after)
			b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(f.Manifest().Blobs.Count), "heap-B/blob")
			f.Close()
		})
	}
}

// The Writer spools the manifest's member entries instead of holding
// them; the manifest it writes is still exactly json.Marshal of the
// manifest with its checksum, the form spec §3.4 gives.
func TestSpooledManifestIsMarshalForm(t *testing.T) {
	fx := makeFixture(3000, 3000, 5)
	path := writeFile(t, fx.bytes(t))
	f, err := Open(path) // checks it
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	var raw []byte
	arch, _ := os.Open(path)
	defer arch.Close()
	for tr := tar.NewReader(arch); ; {
		hdr, err := tr.Next()
		if err != nil {
			t.Fatalf("no %s member: %v", ManifestName, err)
		}
		if hdr.Name == ManifestName {
			raw, _ = io.ReadAll(tr)
			break
		}
	}
	var m Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	if n := len(m.Members); int64(n) <= m.Blobs.Count || n < 1000 {
		t.Fatalf("the manifest lists %d members, want its %d blobs and the segments", n, m.Blobs.Count)
	}
	js, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if want := appendManifestChecksum(js[:len(js)-1]); !bytes.Equal(raw, want) {
		t.Errorf("the written manifest (%d bytes) differs from json.Marshal of what it holds (%d bytes)", len(raw), len(want))
	}
}
