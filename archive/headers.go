package archive

import "io"

// headerReader reads an io.ReaderAt forwards through a buffer, with Seek, for
// walking tar headers: tar reads them 512 bytes at a time and seeks over
// member data, and without a buffer each small read is a system call.
// Archives with many small blobs open several times faster with it.
type headerReader struct {
	ra   io.ReaderAt
	size int64
	pos  int64  // of the next byte Read returns
	off  int64  // of buf[0]
	buf  []byte // bytes from off
}

const headerReaderSize = 64 << 10

func newHeaderReader(ra io.ReaderAt, size int64) *headerReader {
	return &headerReader{ra: ra, size: size, buf: make([]byte, 0, headerReaderSize)}
}

func (r *headerReader) Read(p []byte) (int, error) {
	if r.pos >= r.size {
		return 0, io.EOF
	}
	if r.pos < r.off || r.pos >= r.off+int64(len(r.buf)) {
		if err := r.fill(r.pos); err != nil {
			return 0, err
		}
	}
	n := copy(p, r.buf[r.pos-r.off:])
	r.pos += int64(n)
	return n, nil
}

// fill reads the buffer from off.
func (r *headerReader) fill(off int64) error {
	n := min(int64(cap(r.buf)), r.size-off)
	r.buf = r.buf[:n]
	got, err := r.ra.ReadAt(r.buf, off)
	r.off, r.buf = off, r.buf[:got]
	if got > 0 {
		return nil
	}
	if err == nil || err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return err
}

func (r *headerReader) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += r.pos
	case io.SeekEnd:
		offset += r.size
	}
	if offset < 0 {
		return 0, io.ErrUnexpectedEOF
	}
	r.pos = offset
	return offset, nil
}

// ReadAt serves bytes from the buffer when it holds them.
func (r *headerReader) ReadAt(p []byte, off int64) (int, error) {
	if off >= r.off && off+int64(len(p)) <= r.off+int64(len(r.buf)) {
		return copy(p, r.buf[off-r.off:]), nil
	}
	return r.ra.ReadAt(p, off)
}
