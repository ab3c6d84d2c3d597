package archive

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/klauspost/compress/zstd"
)

// FuzzReader feeds arbitrary bytes to both readers. Neither may panic or
// hang, and they must agree: what Verify calls intact, File must read.
func FuzzReader(f *testing.F) {
	f.Add(makeFixture(20, 3, 11).bytes(f))
	paths, _ := filepath.Glob(filepath.Join(goldenDir, "golden-*.ferry"))
	for _, p := range paths {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		rep := verify(t, data)
		err := readAll(data)
		if rep.Intact && err != nil {
			t.Fatalf("verify says intact, random access fails: %v", err)
		}
		if !rep.Intact && len(rep.Problems) == 0 {
			t.Fatal("damaged without a named problem")
		}
	})
}

// FuzzManifest feeds arbitrary manifests, with a valid checksum, to an
// archive of a header and two blobs: the JSON a reader decodes as a
// stream and checks entry by entry. No reader may panic, and what Verify
// calls intact, Open and OpenQuick must open.
func FuzzManifest(f *testing.F) {
	enc, _ := zstd.NewWriter(nil)
	members := []rawMember{header(f), blob([]byte("attachment")), zblob(enc, bytes.Repeat([]byte("page "), 100))}
	seed := buildRaw(f, append(members, manifestFor(f, members, nil)))
	file, err := NewFile(bytes.NewReader(seed), int64(len(seed)))
	if err != nil {
		f.Fatal(err)
	}
	// Seeds: the manifest, and the manifest with the members' positions
	// (what OpenQuick needs), both without their checksum suffix.
	for _, offsets := range []bool{false, true} {
		mf := manifestFor(f, members, func(m map[string]any) {
			for i, e := range m["members"].([]map[string]any) {
				if offsets {
					e["offset"] = file.Members()[i].Offset
				}
			}
		})
		f.Add(mf.data[:len(mf.data)-manifestSuffixLen])
	}
	f.Add([]byte(`{"members":[],"members":null`))
	f.Fuzz(func(t *testing.T, prefix []byte) {
		data := buildRaw(t, append(members, rawMember{name: ManifestName, data: appendManifestChecksum(prefix)}))
		rep := verify(t, data)
		err := readAll(data)
		if rep.Intact && err != nil {
			t.Fatalf("verify says intact, Open fails: %v", err)
		}
		q, qerr := newQuickFile(bytes.NewReader(data), int64(len(data)), nil)
		if qerr == nil {
			qerr = readMembers(q)
			q.Close()
		}
		if rep.Intact && qerr != nil && qerr != errNoQuickOpen {
			t.Fatalf("verify says intact, OpenQuick fails: %v", qerr)
		}
		if !rep.Intact && len(rep.Problems) == 0 {
			t.Fatal("damaged without a named problem")
		}
	})
}
