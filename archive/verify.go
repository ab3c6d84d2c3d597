package archive

import (
	"errors"
	"fmt"
	"io"
)

// Report is what Verify found.
type Report struct {
	Intact    bool       `json:"intact"`
	Version   string     `json:"version,omitempty"`
	ArchiveID string     `json:"archive_id,omitempty"`
	ParentID  string     `json:"parent_id,omitempty"`
	Members   int        `json:"members"`
	Segments  int        `json:"segments"`
	Events    int64      `json:"events"`
	Blobs     int64      `json:"blobs"`
	Bytes     int64      `json:"bytes"`
	Digest    string     `json:"events_digest,omitempty"`
	Signature *Signature `json:"signature,omitempty"` // checked against the manifest, not against a trust list
	// Encrypted archives read without an identity are checked up to their
	// stored (encrypted) bytes only: Sealed says so.
	Encrypted  bool     `json:"encrypted,omitempty"`
	Sealed     bool     `json:"contents_not_decrypted,omitempty"`
	Recipients []string `json:"recipients,omitempty"` // of an encrypted archive

	Problems []Problem `json:"problems"`
}

// Problem is one thing wrong with an archive.
type Problem struct {
	Member string `json:"member,omitempty"`
	Offset int64  `json:"offset"`
	Error  string `json:"error"`
	err    error
}

// Err returns the problem as an error (wrapping a sentinel of this package).
func (p Problem) Err() error { return p.err }

// segmentCount is what a segment actually held.
type segmentCount struct {
	rows              int64
	firstSeq, lastSeq int64
}

// Verify reads a whole archive from r, re-reading every byte and checking
// every checksum, every segment row and the manifest's counts. It goes on
// past a damaged member as long as the tar framing allows, so the report
// names every damaged member it can reach. An encrypted archive is
// decrypted with the identities in opts; without them, only its stored
// bytes are checked.
func Verify(r io.Reader, opts ...ReadOption) *Report {
	rep := &Report{Problems: []Problem{}}
	rd, err := NewReader(r, opts...)
	if err != nil {
		rep.add(err)
		return rep
	}
	h := rd.Header()
	rep.Version, rep.ArchiveID, rep.ParentID = h.Version, h.ArchiveID, h.ParentID
	rep.Members = 1
	rep.Encrypted = h.Encrypted()
	if h.Encryption != nil {
		rep.Recipients = h.Encryption.Recipients
	}
	v := newVerifier(rd, rep)
	if rd.cfg.ahead != nil {
		v.startAhead(rd.cfg.ahead, rd.cfg.aheadSize)
	}
	for {
		m, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			v.reportNext(err)
			if rd.err != nil {
				break // the framing is broken: nothing further can be trusted
			}
			continue
		}
		rep.Members++
		v.member()
		if !rd.Readable() {
			rep.Sealed = true
			if m.Kind == KindSegment {
				rep.Segments++
			} else if m.Kind == KindBlob {
				rep.Blobs++
			}
			if _, err := io.Copy(io.Discard, rd); err != nil {
				v.report(err)
			}
			continue
		}
		switch m.Kind {
		case KindSegment:
			rep.Segments++
			v.segment()
		case KindBlob:
			rep.Blobs++
			v.blob()
		}
	}
	v.wait()
	rep.Bytes = rd.Offset()
	if mf := rd.Manifest(); mf != nil {
		rep.Members++ // the manifest itself
		rep.Digest = mf.Events.Digest
		if rep.Sealed {
			rep.Events = mf.Events.Count
		} else if !v.segmentBad {
			for _, p := range checkCounts(mf, v.counts, v.byType) {
				rep.add(p)
			}
			if got := v.digest.sum(); mf.Events.Digest != "" && got != mf.Events.Digest {
				rep.add(errorf(ManifestName, -1, ErrManifest, "events digest is %s, manifest says %s", got, mf.Events.Digest))
			}
		}
		sig, err := rd.Signature()
		if err != nil {
			rep.add(err)
		}
		rep.Signature = sig
	}
	rep.Intact = len(rep.Problems) == 0
	return rep
}

// checkCounts compares the manifest's per-segment rows and seq ranges and
// its event totals with what the segments held.
func checkCounts(mf *Manifest, counts map[string]segmentCount, byType map[string]int64) []error {
	var errs []error
	var first, last int64
	for _, e := range mf.Members {
		c, ok := counts[e.Name]
		if !ok {
			continue
		}
		if c.rows != e.Rows || c.firstSeq != e.FirstSeq || c.lastSeq != e.LastSeq {
			errs = append(errs, errorf(e.Name, -1, ErrManifest, "segment holds %d rows, seq %d..%d; manifest says %d rows, seq %d..%d",
				c.rows, c.firstSeq, c.lastSeq, e.Rows, e.FirstSeq, e.LastSeq))
		}
		if first == 0 && c.rows > 0 {
			first = c.firstSeq
		}
		if c.rows > 0 {
			last = c.lastSeq
		}
	}
	if first != mf.Events.FirstSeq || last != mf.Events.LastSeq {
		errs = append(errs, errorf(ManifestName, -1, ErrManifest, "events span seq %d..%d, manifest says %d..%d", first, last, mf.Events.FirstSeq, mf.Events.LastSeq))
	}
	for t, n := range byType {
		if mf.Events.ByType[t] != n {
			errs = append(errs, errorf(ManifestName, -1, ErrManifest, "%d events of type %s, manifest says %d", n, t, mf.Events.ByType[t]))
		}
	}
	for t, n := range mf.Events.ByType {
		if _, ok := byType[t]; !ok && n != 0 {
			errs = append(errs, errorf(ManifestName, -1, ErrManifest, "no events of type %s, manifest says %d", t, n))
		}
	}
	return errs
}

// add records a problem, once per member: a damaged member can surface
// both while it is decoded and when its stored bytes are hashed.
func (rep *Report) add(err error) {
	p := Problem{Offset: -1, Error: err.Error(), err: err}
	var ae *Error
	if errors.As(err, &ae) {
		p.Member, p.Offset = ae.Member, ae.Offset
	}
	for _, q := range rep.Problems {
		if p.Member != "" && q.Member == p.Member {
			return
		}
	}
	rep.Problems = append(rep.Problems, p)
}

// String summarises the report in one line.
func (rep *Report) String() string {
	if rep.Intact {
		return fmt.Sprintf("intact: %d members, %d segments, %d events, %d blobs, %d bytes", rep.Members, rep.Segments, rep.Events, rep.Blobs, rep.Bytes)
	}
	return fmt.Sprintf("damaged: %d problems", len(rep.Problems))
}
