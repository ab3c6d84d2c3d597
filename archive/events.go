package archive

import (
	"io"
)

// Events iterates over events in seq order, across one or more segments:
//
//	it := f.Events()
//	defer it.Close()
//	for it.Next() {
//		ev := it.Event()
//	}
//	if err := it.Err(); err != nil { ... }
//
// It checks that seq increases strictly and that each segment holds the
// rows its footer (and, from a File, the manifest) says.
type Events struct {
	segs    []*memberInfo
	open    func(*memberInfo) (*io.SectionReader, func(), error)
	release func() // of the segment being read
	closer  func() error
	listed  bool // segs carry the manifest's rows and seq range
	i       int
	cur     *segmentReader
	rows    int64
	ev      Event
	lastSeq int64
	err     error
}

func newEvents(segs []*memberInfo, open func(*memberInfo) (*io.SectionReader, func(), error), closer func() error) *Events {
	return &Events{segs: segs, open: open, closer: closer}
}

// Next advances to the next event. It returns false at the end or on an
// error, which Err then returns.
func (e *Events) Next() bool {
	if e.err != nil {
		return false
	}
	for {
		if e.cur == nil {
			if e.i >= len(e.segs) {
				return false
			}
			sr, release, err := e.open(e.segs[e.i])
			if err != nil {
				e.err = err
				return false
			}
			e.release = release
			if e.cur, err = openSegment(e.segs[e.i].Name, sr); err != nil {
				e.err = err
				return false
			}
			e.rows = 0
		}
		m := e.segs[e.i]
		ok, err := e.cur.next(&e.ev)
		if err != nil {
			e.err = err
			return false
		}
		if ok {
			if e.ev.Seq <= e.lastSeq {
				e.err = errorf(m.Name, -1, ErrCorrupt, "seq %d follows seq %d", e.ev.Seq, e.lastSeq)
				return false
			}
			if e.listed && e.rows == 0 && e.ev.Seq != m.FirstSeq {
				e.err = errorf(m.Name, -1, ErrManifest, "first seq is %d, manifest says %d", e.ev.Seq, m.FirstSeq)
				return false
			}
			e.lastSeq = e.ev.Seq
			e.rows++
			return true
		}
		if e.err = e.endSegment(m); e.err != nil {
			return false
		}
	}
}

// endSegment checks a finished segment's row count and closes it.
func (e *Events) endSegment(m *memberInfo) error {
	rows := e.cur.rows
	e.closeSegment()
	e.i++
	switch {
	case e.rows != rows:
		return errorf(m.Name, -1, ErrCorrupt, "decoded %d rows, footer says %d", e.rows, rows)
	case e.listed && e.rows != m.Rows:
		return errorf(m.Name, -1, ErrManifest, "segment has %d rows, manifest says %d", e.rows, m.Rows)
	case e.listed && e.rows > 0 && e.lastSeq != m.LastSeq:
		return errorf(m.Name, -1, ErrManifest, "last seq is %d, manifest says %d", e.lastSeq, m.LastSeq)
	}
	return nil
}

func (e *Events) closeSegment() {
	if e.cur != nil {
		e.cur.close()
		e.cur = nil
	}
	if e.release != nil {
		e.release()
		e.release = nil
	}
}

// Event returns the current event. It is valid until the next call to Next;
// its Payload may be kept.
func (e *Events) Event() *Event { return &e.ev }

// Err returns the error that stopped the iteration, if any.
func (e *Events) Err() error { return e.err }

// Close releases the segment being read.
func (e *Events) Close() error {
	e.closeSegment()
	if e.closer != nil {
		err := e.closer()
		e.closer = nil
		return err
	}
	return nil
}
