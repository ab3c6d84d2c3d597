package archive

import (
	"archive/tar"
	"fmt"
	"io"
	"strconv"
	"time"
)

// memberWriter writes tar members in the form spec §2 requires: a local pax
// header with the member's SHA-256, then the data. It knows nothing of what
// the members mean; Writer decides that.
type memberWriter struct {
	tw      *tar.Writer
	out     *countingWriter
	modTime time.Time
	entries []MemberEntry
	seen    map[string]bool
	err     error // sticky: after a failed write the tar stream is unusable
}

func newMemberWriter(w io.Writer, modTime time.Time) *memberWriter {
	out := &countingWriter{w: w}
	return &memberWriter{tw: tar.NewWriter(out), out: out, modTime: modTime.UTC().Truncate(time.Second), seen: map[string]bool{}}
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
	if m.seen[e.Name] {
		return fmt.Errorf("archive: member %s written twice", e.Name)
	}
	m.seen[e.Name] = true
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
	if k, _, _, _ := kindOf(e.Name); k != KindManifest && k != KindTrailer {
		m.entries = append(m.entries, e)
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
