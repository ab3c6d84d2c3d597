package archive

import (
	"bytes"
	"crypto/sha256"
	"hash"
	"io"
	"os"
)

// spool holds one member's bytes until their size and hash are known: in
// memory up to a threshold, then in a temporary file. Reset reuses it.
type spool struct {
	dir       string // for the temporary file; "" means os.TempDir
	threshold int
	buf       bytes.Buffer
	file      *os.File
	size      int64
	sum       hash.Hash // nil: not hashed
}

func newSpool(dir string, threshold int) *spool {
	return &spool{dir: dir, threshold: threshold, sum: sha256.New()}
}

// newUnhashedSpool is a spool whose bytes are not hashed: for bytes that
// are checked otherwise, or need no check.
func newUnhashedSpool(dir string, threshold int) *spool {
	return &spool{dir: dir, threshold: threshold}
}

func (s *spool) Write(p []byte) (int, error) {
	if s.sum != nil {
		s.sum.Write(p)
	}
	s.size += int64(len(p))
	if s.file == nil && s.buf.Len()+len(p) <= s.threshold {
		if need := s.buf.Len() + len(p); need > s.buf.Cap() {
			// Grow by doubling, but never past the threshold.
			s.buf.Grow(min(max(2*s.buf.Cap(), need), s.threshold) - s.buf.Len())
		}
		return s.buf.Write(p)
	}
	if s.file == nil {
		f, err := os.CreateTemp(s.dir, "ferry-spool-*")
		if err != nil {
			return 0, err
		}
		// Unlinked at once: nothing is left behind if the process dies.
		os.Remove(f.Name())
		s.file = f
		if _, err := f.Write(s.buf.Bytes()); err != nil {
			return 0, err
		}
		s.buf.Reset()
	}
	return s.file.Write(p)
}

// Size is the number of bytes written since the last Reset.
func (s *spool) Size() int64 { return s.size }

// Digest is the hex SHA-256 of the bytes written since the last Reset.
func (s *spool) Digest() string { return hexSum(s.sum.Sum(nil)) }

// Bytes returns the spooled bytes when they are held in memory.
func (s *spool) Bytes() ([]byte, bool) { return s.buf.Bytes(), s.file == nil }

// Reader returns a reader over the spooled bytes from the start.
func (s *spool) Reader() (io.Reader, error) {
	if s.file == nil {
		return bytes.NewReader(s.buf.Bytes()), nil
	}
	if _, err := s.file.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	return io.LimitReader(s.file, s.size), nil
}

// dropBuffer frees the memory buffer once the bytes are in the file, for
// a spool that is not reused (Reset keeps the buffer for the next member).
func (s *spool) dropBuffer() {
	if s.file != nil && s.buf.Cap() > 0 {
		s.buf = bytes.Buffer{}
	}
}

// ReadAt reads spooled bytes at off, without disturbing further writes.
func (s *spool) ReadAt(p []byte, off int64) (int, error) {
	if s.file != nil {
		return s.file.ReadAt(p, off)
	}
	b := s.buf.Bytes()
	if off >= int64(len(b)) {
		return 0, io.EOF
	}
	n := copy(p, b[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// Reset empties the spool, keeping its memory buffer for reuse.
func (s *spool) Reset() {
	s.buf.Reset()
	if s.buf.Cap() > 4*s.threshold {
		s.buf = bytes.Buffer{}
	}
	if s.file != nil {
		s.file.Close()
		s.file = nil
	}
	s.size = 0
	if s.sum != nil {
		s.sum.Reset()
	}
}

// release frees the temporary file, if any. (Not Close: the Parquet writer
// closes a sink that is an io.Closer, and the spool must outlive it.)
func (s *spool) release() { s.Reset() }
