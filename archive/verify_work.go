package archive

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"os"
	"runtime"
	"slices"
	"sync"

	"github.com/klauspost/compress/zstd"
	"golang.org/x/sync/semaphore"
)

// Verify's work is mostly hashing, decompressing and decoding members,
// which do not depend on one another, so it runs on every core: the stream
// is read in order by one goroutine, which hands each member's stored bytes
// to workers. Blobs go to any worker; segments go, in order, to one worker
// that alone keeps the event sequence, counts and digest. Problems are
// numbered by the member they were found in and reported in that order, so
// the report reads as if one goroutine had found them all.
//
// Memory stays bounded whatever the archive: at most verifyInFlight
// members are held at once, and at most verifyBudget bytes of them in
// memory, each of up to verifyInMemory bytes; bigger segments wait in a
// temporary file, and a bigger blob is checked by the reading goroutine as
// it streams, as before.
const (
	verifyInFlight = 8
	verifyInMemory = 4 << 20
	verifyBudget   = 16 << 20
)

type verifier struct {
	rd      *Reader
	rep     *Report
	blobs   chan *verifyJob
	segs    chan *verifyJob
	slots   chan struct{} // a slot per member held
	budget  *semaphore.Weighted
	workers sync.WaitGroup
	n       int // members reached so far, to number problems

	mu       sync.Mutex
	problems []numbered

	// Kept by the segment worker alone until wait returns.
	lastSeq    int64
	events     []numberedRows // rows read from each segment
	byType     map[string]int64
	counts     map[string]segmentCount
	digest     *eventDigest
	segmentBad bool // a segment could not be read, so totals cannot be compared

	ahead *readingAhead // nil when the archive can only be streamed
}

// verifyJob is one member to check.
type verifyJob struct {
	n     int // in archive order
	held  int64
	m     *memberInfo
	slot  bool        // holds one of verifyInFlight
	data  *[]byte     // the stored bytes, or nil when spooled
	spool *os.File    // the stored bytes of a big segment
	ra    io.ReaderAt // the archive file, for a segment read ahead
	// confirmed: the stream found this segment read ahead where the
	// manifest put it. What the check of one it did not confirm found is
	// not reported.
	confirmed bool
	sumOnly   bool // check only the stored bytes' SHA-256
}

type numbered struct {
	n   int
	err error
	j   *verifyJob // the job that found it, if any
}

type numberedRows struct {
	j    *verifyJob
	rows int64
}

var verifyBuffers = sync.Pool{New: func() any { return new([]byte) }}

func newVerifier(rd *Reader, rep *Report) *verifier {
	v := &verifier{
		rd: rd, rep: rep,
		blobs:  make(chan *verifyJob, verifyInFlight),
		segs:   make(chan *verifyJob, verifyInFlight),
		slots:  make(chan struct{}, verifyInFlight),
		budget: semaphore.NewWeighted(verifyBudget),
		byType: map[string]int64{}, counts: map[string]segmentCount{}, digest: newEventDigest(),
	}
	for range max(1, runtime.GOMAXPROCS(0)) {
		v.workers.Go(func() {
			dec := newDecoder()
			defer dec.Close()
			for j := range v.blobs {
				if j.sumOnly {
					v.done(j, j.checkSum())
				} else {
					v.done(j, checkBlob(j, rd.header, &rd.cfg, dec))
				}
			}
		})
	}
	v.workers.Go(func() {
		for j := range v.segs {
			v.done(j, v.checkSegment(j))
		}
	})
	return v
}

// member counts a member the stream has reached.
func (v *verifier) member() { v.n++ }

// report records a problem in the current member; reportNext one found
// while moving to the next, which sorts after the current member's own.
func (v *verifier) report(err error)     { v.record(2*v.n, err) }
func (v *verifier) reportNext(err error) { v.record(2*v.n+1, err) }

func (v *verifier) record(n int, err error) { v.recordJob(n, err, nil) }

func (v *verifier) recordJob(n int, err error, j *verifyJob) {
	if err == nil {
		return
	}
	v.mu.Lock()
	v.problems = append(v.problems, numbered{n, err, j})
	v.mu.Unlock()
}

// done records a job's verdict and frees what it held.
func (v *verifier) done(j *verifyJob, err error) {
	v.recordJob(2*j.n, err, j)
	j.release()
	v.budget.Release(j.held)
	if j.slot {
		<-v.slots
	}
}

// blob hands the current blob member to a worker, or checks it here when
// it is too big to hold.
func (v *verifier) blob() {
	m := v.rd.cur
	if m.Size > verifyInMemory {
		if err := v.streamBlob(); err != nil {
			v.report(err)
		}
		return
	}
	if j := v.take(m, false); j != nil {
		v.blobs <- j
	}
}

// segment hands the current segment member to the segment worker.
func (v *verifier) segment() {
	if v.ahead != nil {
		switch v.ahead.has(v.rd.cur) {
		case aheadChecks:
			if err := v.rd.skipStored(); err != nil {
				v.report(err)
			}
			return
		case aheadDisowned:
			// The segment worker has moved on to the manifest's segment at
			// this offset, which the manifest check will find is not this
			// one. Only this one's stored bytes are checked, against its
			// own hash, so that a damaged one is still named.
			if j := v.take(v.rd.cur, true); j != nil {
				j.sumOnly = true
				v.blobs <- j
			}
			return
		}
	}
	if j := v.take(v.rd.cur, true); j != nil {
		v.segs <- j
	}
}

// take reads the current member's stored bytes, unchecked, for a worker.
// It returns nil, having reported why, when they cannot be read.
func (v *verifier) take(m *memberInfo, spool bool) *verifyJob {
	v.slots <- struct{}{}
	j := &verifyJob{n: v.n, m: m, slot: true}
	var (
		w   io.Writer
		buf []byte
	)
	if m.Size > verifyInMemory && spool {
		f, err := os.CreateTemp(v.rd.tempDir, "ferry-segment-*")
		if err != nil {
			v.done(j, err)
			return nil
		}
		os.Remove(f.Name())
		j.spool, w = f, f
	} else {
		j.held = m.Size
		v.budget.Acquire(context.Background(), j.held) // m.Size <= verifyInMemory < verifyBudget
		j.data = verifyBuffers.Get().(*[]byte)
		if cap(*j.data) < int(m.Size) {
			*j.data = make([]byte, m.Size, max(m.Size, 64<<10))
		}
		*j.data = (*j.data)[:m.Size]
		buf = *j.data
	}
	if err := v.rd.takeStored(buf, w); err != nil {
		v.done(j, err)
		return nil
	}
	return j
}

// stored is a reader of the job's stored bytes from their start.
func (j *verifyJob) stored() *io.SectionReader {
	if j.ra != nil {
		return io.NewSectionReader(j.ra, j.m.offset, j.m.Size)
	}
	if j.spool != nil {
		return io.NewSectionReader(j.spool, 0, j.m.Size)
	}
	return io.NewSectionReader(bytes.NewReader(*j.data), 0, int64(len(*j.data)))
}

func (j *verifyJob) release() {
	if j.data != nil {
		if cap(*j.data) <= verifyInMemory {
			verifyBuffers.Put(j.data)
		}
		j.data = nil
	}
	if j.spool != nil {
		j.spool.Close()
		j.spool = nil
	}
}

// wait waits for every member handed out and every problem to be recorded.
func (v *verifier) wait() {
	close(v.blobs)
	if v.ahead != nil {
		<-v.ahead.fed // the last sender on segs
		v.ahead.release()
	}
	close(v.segs)
	v.workers.Wait()
	// Segments read ahead may lie past where the stream stopped, or not be
	// where it found them: what they held is reported only as far as the
	// stream confirmed them, as if it alone had read the archive.
	counted := func(j *verifyJob) bool { return j == nil || j.ra == nil || j.confirmed }
	slices.SortStableFunc(v.problems, func(a, b numbered) int { return a.n - b.n })
	for _, p := range v.problems {
		if counted(p.j) {
			v.rep.add(p.err)
		}
	}
	for _, e := range v.events {
		if counted(e.j) {
			v.rep.Events += e.rows
		}
	}
}

// streamBlob checks the current blob as it reads it.
func (v *verifier) streamBlob() error {
	content, err := v.rd.Blob()
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, content)
	return err
}

// checkBlob checks a blob's stored bytes against their SHA-256, then its
// content against its name.
func checkBlob(j *verifyJob, h *Header, cfg *readConfig, dec *zstd.Decoder) error {
	m, stored := j.m, j.stored()
	if err := j.checkSum(); err != nil {
		return err
	}
	if !m.compressed && !m.sealed {
		return nil // its stored bytes are its content, and their hash its name (checkMember)
	}
	plain, err := unseal(m, stored, h, cfg)
	if err != nil {
		return err
	}
	content, err := blobContent(plain, m, dec)
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, content)
	return err
}

// checkSum checks the job's stored bytes against their SHA-256.
func (j *verifyJob) checkSum() error {
	var sum [sha256.Size]byte
	if j.data != nil {
		sum = sha256.Sum256(*j.data)
	} else {
		h := sha256.New()
		if _, err := io.CopyBuffer(h, j.stored(), make([]byte, 1<<20)); err != nil {
			return errorf(j.m.Name, j.m.offset, ErrTruncated, "read: %v", err)
		}
		h.Sum(sum[:0])
	}
	if got := hexSum(sum[:]); got != j.m.SHA256 {
		return errorf(j.m.Name, -1, ErrChecksum, "stored bytes hash to %s, want %s", got, j.m.SHA256)
	}
	return nil
}

// checkSegment checks a segment's stored bytes, then reads its events in
// order, continuing the sequence, counts and digest of the segments before.
func (v *verifier) checkSegment(j *verifyJob) error {
	m, stored := j.m, j.stored()
	if err := j.checkSum(); err != nil {
		v.segmentBad = true
		return err
	}
	sr := stored
	if m.sealed {
		plain, err := unseal(m, stored, v.rd.header, &v.rd.cfg)
		if err != nil {
			v.segmentBad = true
			return err
		}
		f, err := os.CreateTemp(v.rd.tempDir, "ferry-segment-*")
		if err != nil {
			return err
		}
		os.Remove(f.Name())
		defer f.Close()
		n, err := io.Copy(f, io.LimitReader(plain, maxSegmentSize+1))
		if err == nil && n > maxSegmentSize {
			err = errorf(m.Name, m.offset, ErrTooLarge, "more than %d bytes", int64(maxSegmentSize))
		}
		if err != nil {
			v.segmentBad = true
			return err
		}
		sr = io.NewSectionReader(f, 0, n)
	}
	var c segmentCount
	defer func() { v.counts[m.Name] = c; v.events = append(v.events, numberedRows{j, c.rows}) }()
	batches, stop := decodeAhead(m, sr)
	defer stop()
	for b := range batches {
		if b.err != nil {
			v.segmentBad = true
			return b.err
		}
		for i := range b.events {
			ev := &b.events[i]
			if ev.Seq <= v.lastSeq {
				v.segmentBad = true
				return errorf(m.Name, -1, ErrCorrupt, "seq %d follows seq %d of an earlier segment", ev.Seq, v.lastSeq)
			}
			v.lastSeq = ev.Seq
			if c.rows == 0 {
				c.firstSeq = ev.Seq
			}
			c.lastSeq = ev.Seq
			c.rows++
			v.byType[ev.Type]++
			v.digest.add(ev)
		}
	}
	return nil
}

// eventBatch is a run of a segment's events, decoded ahead of their checks.
type eventBatch struct {
	events []Event
	err    error
}

// decodeAhead decodes a segment's events on another goroutine, in batches,
// a few ahead of the reader: decoding Parquet and hashing the events are
// the two halves of a segment's check. stop ends the decoding early.
func decodeAhead(m *memberInfo, sr *io.SectionReader) (<-chan eventBatch, func()) {
	const batchSize, ahead = 1024, 4
	out := make(chan eventBatch, ahead)
	quit := make(chan struct{})
	go func() {
		defer close(out)
		it := newEvents([]*memberInfo{m}, func(*memberInfo) (*io.SectionReader, func(), error) { return sr, func() {}, nil }, func() error { return nil })
		defer it.Close()
		for {
			b := eventBatch{events: make([]Event, 0, batchSize)}
			for len(b.events) < batchSize && it.Next() {
				b.events = append(b.events, *it.Event())
			}
			b.err = it.Err()
			if len(b.events) == 0 && b.err == nil {
				return
			}
			select {
			case out <- b:
			case <-quit:
				return
			}
			if b.err != nil {
				return
			}
		}
	}()
	return out, func() {
		close(quit)
		for range out { // wait for the decoder, which may still read sr
		}
	}
}
