package archive

import (
	"archive/tar"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// memberWriter writes tar members in the form spec §2 requires: a local pax
// header with the member's SHA-256, then the data. It knows nothing of what
// the members mean; Writer decides that.
type memberWriter struct {
	tw      *tar.Writer
	out     *countingWriter
	modTime time.Time
	// entries holds the manifest's member entries as JSON, comma-separated,
	// spilling to a temporary file: an archive of a million blobs would
	// otherwise keep a million entries in memory until its manifest.
	entries *spool
	seen    map[string]bool // names other than blobs' (Writer writes each blob once)
	err     error           // sticky: after a failed write the tar stream is unusable
}

func newMemberWriter(w io.Writer, modTime time.Time, tempDir string) *memberWriter {
	out := &countingWriter{w: w}
	return &memberWriter{tw: tar.NewWriter(out), out: out, modTime: modTime.UTC().Truncate(time.Second),
		entries: newUnhashedSpool(tempDir, 1<<20), seen: map[string]bool{}}
}

// countingWriter counts the bytes written through it: after a tar header
// is written, the count is where the member's data starts.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// write adds one member of size bytes read from r, whose SHA-256 is digest.
// contentSize >= 0 adds the blob record. The entry is remembered for the
// manifest unless the member is the manifest or a trailer.
func (m *memberWriter) write(e MemberEntry, r io.Reader) error {
	if m.err != nil {
		return m.err
	}
	if err := checkName(e.Name); err != nil {
		return err
	}
	kind, _, _, _ := kindOf(strings.TrimSuffix(e.Name, sealedSuffix))
	if m.seen[e.Name] {
		return fmt.Errorf("archive: member %s written twice", e.Name)
	}
	if kind != KindBlob {
		m.seen[e.Name] = true
	}
	pax := map[string]string{paxSHA256: e.SHA256}
	if e.ContentSize != nil {
		pax[paxContentSize] = strconv.FormatInt(*e.ContentSize, 10)
	}
	hdr := &tar.Header{
		Typeflag:   tar.TypeReg,
		Name:       e.Name,
		Size:       e.Size,
		Mode:       0o644,
		ModTime:    m.modTime,
		Format:     tar.FormatPAX,
		PAXRecords: pax,
	}
	if err := m.tw.WriteHeader(hdr); err != nil {
		m.err = fmt.Errorf("write member %s: %w", e.Name, err)
		return m.err
	}
	e.Offset = m.out.n
	n, err := io.Copy(m.tw, r)
	if err == nil && n != e.Size {
		err = fmt.Errorf("wrote %d bytes, want %d", n, e.Size)
	}
	if err != nil {
		m.err = fmt.Errorf("write member %s: %w", e.Name, err)
		return m.err
	}
	if kind != KindManifest && kind != KindTrailer {
		js, err := json.Marshal(e)
		if err == nil && m.entries.Size() > 0 {
			_, err = m.entries.Write([]byte{','})
		}
		if err == nil {
			_, err = m.entries.Write(js)
		}
		if err != nil {
			m.err = fmt.Errorf("note member %s for the manifest: %w", e.Name, err)
			return m.err
		}
	}
	return nil
}

// close writes the end-of-archive blocks.
func (m *memberWriter) close() error {
	if m.err != nil {
		return m.err
	}
	m.err = m.tw.Close()
	return m.err
}
