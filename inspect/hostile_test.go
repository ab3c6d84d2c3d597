package inspect

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"ferry/archive"
	"ferry/internal/hostile"
)

// A segment that decodes to far more than it stores is refused before
// DuckDB reads it: a row group of large payloads, and a long dictionary
// entry in every row. (Before the fix a 194 KB archive made inspect peak
// at 8.3 GB.)
func TestHostileSegmentsNeverReachDuckDB(t *testing.T) {
	big := bytes.Repeat([]byte("a"), 20<<20)
	for name, seg := range map[string]hostile.Segment{
		"row-group bomb":  {RowGroups: 4, Rows: 4, Type: "page.version", Payload: func(int64) []byte { return big }},
		"dictionary bomb": {RowGroups: 1, Rows: 50_000, Type: strings.Repeat("t", 1<<20), Payload: func(int64) []byte { return []byte("{}") }, Dictionary: true},
	} {
		t.Run(name, func(t *testing.T) {
			data, err := hostile.Archive([]hostile.Segment{seg})
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "bomb.ferry")
			os.WriteFile(path, data, 0o600)
			in, err := Open(ctx, path)
			if err == nil {
				in.Close()
				t.Fatal("opened for SQL")
			}
			if !errors.Is(err, archive.ErrTooLarge) {
				t.Errorf("err = %v, want ErrTooLarge", err)
			}
		})
	}
}
