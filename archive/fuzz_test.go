package archive

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
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
		rep := Verify(bytes.NewReader(data))
		err := readAll(data)
		if rep.Intact && err != nil {
			t.Fatalf("verify says intact, random access fails: %v", err)
		}
		if !rep.Intact && len(rep.Problems) == 0 {
			t.Fatal("damaged without a named problem")
		}
	})
}
