package archive

import (
	"crypto/sha256"
	"io"
	"sync"
)

// ReadAhead tells Verify that the archive it streams can also be read at
// random, through ra, which holds the same size bytes: an archive file.
// Verify then reads the manifest from the file's end while the stream is
// read, so that
//   - the segments are checked from the offsets the manifest gives, from
//     the start, instead of when the stream reaches them: export writes a
//     small archive's only segment after all its blobs;
//   - the manifest is decoded on another core, and when the stream reaches
//     it only has to be compared, record by record, with the members seen.
//
// What the stream finds decides, as without ReadAhead. A segment read
// ahead counts only once the stream has found it where the manifest put
// it; one the manifest does not list where the stream found it is checked
// from the stream; a manifest whose bytes differ from those decoded ahead
// is decoded again. Where the stream and the manifest disagree, the
// archive is damaged either way, but the report may name more problems
// than the stream alone would. A file whose header member is not the
// stream's is not used; one that holds other bytes than the stream
// further on breaks the contract.
func ReadAhead(ra io.ReaderAt, size int64) ReadOption {
	return func(c *readConfig) { c.ahead, c.aheadSize = ra, size }
}

// listedManifest is a manifest decoded ahead of the stream.
type listedManifest struct {
	list     *recList // its entries, in order
	manifest *Manifest
	sha256   string // of its bytes
}

// readingAhead is Verify's reading of the manifest from the file.
type readingAhead struct {
	mu       sync.Mutex
	changed  *sync.Cond
	segments []*verifyJob         // listed so far, in order
	sent     map[int64]*verifyJob // by offset: the segments listed
	decoded  bool                 // the whole manifest, or as far as it could be
	listed   *listedManifest      // nil when it could not be decoded
	fed      chan struct{}        // closed when every segment was handed out
}

// startAhead reads the manifest of the archive file ra on one goroutine
// and, on another, hands its segments to the segment worker in order.
func (v *verifier) startAhead(ra io.ReaderAt, size int64) {
	a := &readingAhead{sent: map[int64]*verifyJob{}, fed: make(chan struct{})}
	a.changed = sync.NewCond(&a.mu)
	v.ahead = a
	v.rd.listed = a.wait
	headerSum := v.rd.cur.SHA256 // the stream is still on header.json
	go func() {
		l := v.readManifestAt(a, ra, size, headerSum)
		a.mu.Lock()
		a.decoded, a.listed = true, l
		a.changed.Broadcast()
		a.mu.Unlock()
	}()
	go func() {
		defer close(a.fed)
		for i := 0; ; i++ {
			a.mu.Lock()
			for i == len(a.segments) && !a.decoded {
				a.changed.Wait()
			}
			if i == len(a.segments) {
				a.mu.Unlock()
				return
			}
			j := a.segments[i]
			a.mu.Unlock()
			v.segs <- j
		}
	}()
}

// readManifestAt reads, checks and decodes the manifest of the archive
// file ra, listing its segments in a as it meets them. It returns nil
// when the manifest cannot be read this way; the stream then decodes it,
// and reports what is wrong with it.
func (v *verifier) readManifestAt(a *readingAhead, ra io.ReaderAt, size int64, headerSum string) *listedManifest {
	f := &File{ra: ra, size: size}
	first, start, dataSize, err := f.readEnds(findManifestBefore)
	if err != nil || first.SHA256 != headerSum {
		return nil
	}
	readSegments := !f.header.Encrypted() || len(v.rd.cfg.identities) > 0
	data := func() io.Reader { return io.NewSectionReader(ra, start+blockSize, dataSize) }
	sum := sha256.New()
	if checkManifestSums(data(), dataSize, sum) != nil {
		return nil
	}
	l := &listedManifest{list: newRecList(v.rd.tempDir), sha256: hexSum(sum.Sum(nil))}
	l.list.unsorted = true
	n := 0
	l.manifest, err = decodeManifest(data(), f.header, func(e *MemberEntry) error {
		n++
		if e.Offset == 0 {
			return errNoQuickOpen // format 1.0
		}
		m, err := checkMember(*e, e.Offset)
		if err != nil {
			return err
		}
		if m.kind == KindSegment && readSegments && m.offset+m.Size <= start {
			j := &verifyJob{n: n - 1, m: m, ra: ra}
			a.mu.Lock()
			a.sent[m.offset] = j
			a.segments = append(a.segments, j)
			a.changed.Broadcast()
			a.mu.Unlock()
		}
		return l.list.add(recOf(m))
	})
	if err != nil {
		l.list.release()
		return nil
	}
	return l
}

// wait returns the manifest decoded ahead, once it is, or nil.
func (a *readingAhead) wait() *listedManifest {
	a.mu.Lock()
	defer a.mu.Unlock()
	for !a.decoded {
		a.changed.Wait()
	}
	return a.listed
}

// What the stream does with a segment it reaches.
const (
	aheadNone     = iota // not listed: check it from the stream
	aheadChecks          // listed: skip its bytes
	aheadDisowned        // another member is listed at its offset
)

// has says whether the segment m, which the stream has reached, is
// listed to be checked from the file, waiting until it is or until the
// whole manifest has been read. The segment listed at m's offset is
// confirmed if it is m.
func (a *readingAhead) has(m *memberInfo) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	for {
		if j, ok := a.sent[m.offset]; ok {
			if j.m.Name != m.Name || j.m.Size != m.Size || j.m.SHA256 != m.SHA256 {
				return aheadDisowned
			}
			j.confirmed = true
			return aheadChecks
		}
		if a.decoded {
			return aheadNone
		}
		a.changed.Wait()
	}
}

// release frees the list of entries.
func (a *readingAhead) release() {
	if l := a.wait(); l != nil {
		l.list.release()
	}
}
