package embedded

import (
	"context"
	"database/sql"
	"fmt"
	"io"
)

// OpenBlob returns a reader of a stored blob's bytes. It streams the
// blob's chunks from one query, one chunk in memory at a time; Close it.
func (s *Site) OpenBlob(ctx context.Context, digest string) (io.ReadCloser, int64, error) {
	s.blobOnce.Do(func() {
		// One query per blob, its size on every chunk's row: no second
		// round trip through cgo, and no statement prepared per blob.
		s.blobStmt, s.blobErr = s.db.Prepare(`SELECT b.size, c.data FROM blobs b LEFT JOIN blob_chunks c ON c.digest = b.digest
			WHERE b.digest = ? ORDER BY c.n`)
	})
	if s.blobErr != nil {
		return nil, 0, s.blobErr
	}
	rows, err := s.blobStmt.QueryContext(ctx, digest)
	if err != nil {
		return nil, 0, err
	}
	if !rows.Next() {
		err := rows.Err()
		rows.Close()
		if err == nil {
			err = fmt.Errorf("site %s has no blob %s", s.path, digest)
		}
		return nil, 0, err
	}
	b := &blobReader{rows: rows}
	var size int64
	if err := rows.Scan(&size, &b.buf); err != nil {
		rows.Close()
		return nil, 0, err
	}
	return b, size, nil
}

type blobReader struct {
	rows *sql.Rows
	buf  sql.RawBytes // the driver's bytes of the current chunk: valid until the next row
}

// next moves to the next chunk with bytes; io.EOF after the last.
func (b *blobReader) next() error {
	for len(b.buf) == 0 {
		if !b.rows.Next() {
			if err := b.rows.Err(); err != nil {
				return err
			}
			return io.EOF
		}
		var size int64
		if err := b.rows.Scan(&size, &b.buf); err != nil {
			return err
		}
	}
	return nil
}

func (b *blobReader) Read(p []byte) (int, error) {
	if err := b.next(); err != nil {
		return 0, err
	}
	n := copy(p, b.buf)
	b.buf = b.buf[n:]
	return n, nil
}

// WriteTo hands each chunk to w as it is: io.Copy then needs no buffer
// of its own, and no chunk is copied twice.
func (b *blobReader) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for {
		if err := b.next(); err == io.EOF {
			return total, nil
		} else if err != nil {
			return total, err
		}
		n, err := w.Write(b.buf)
		total += int64(n)
		b.buf = b.buf[n:]
		if err != nil {
			return total, err
		}
	}
}

func (b *blobReader) Close() error { return b.rows.Close() }
