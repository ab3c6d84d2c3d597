package archive

import (
	"crypto/sha256"
	"encoding/binary"
	"hash"
)

// eventDigest hashes events in their canonical encoding (spec §3.4): for
// each event, seq and at (microseconds) as 8-byte big-endian integers, then
// type, entity, id, parent, space, actor and payload, each as an 8-byte
// big-endian length and its bytes. Equal logs give equal digests, whatever
// the archive's id, time or segment layout.
type eventDigest struct {
	h   hash.Hash
	buf []byte
}

func newEventDigest() *eventDigest { return &eventDigest{h: sha256.New()} }

func (d *eventDigest) add(ev *Event) {
	b := d.buf[:0]
	b = binary.BigEndian.AppendUint64(b, uint64(ev.Seq))
	b = binary.BigEndian.AppendUint64(b, uint64(ev.At.UnixMicro()))
	payload := ev.Payload
	if len(payload) == 0 {
		payload = []byte("{}")
	}
	for _, s := range [...]string{ev.Type, ev.Entity, ev.ID, ev.Parent, ev.Space, ev.Actor} {
		b = binary.BigEndian.AppendUint64(b, uint64(len(s)))
		b = append(b, s...)
	}
	b = binary.BigEndian.AppendUint64(b, uint64(len(payload)))
	d.h.Write(b)
	d.h.Write(payload)
	d.buf = b
}

func (d *eventDigest) sum() string { return hexSum(d.h.Sum(nil)) }

// EventsDigest returns the canonical digest of events, as the manifest's
// events.digest records it.
func EventsDigest(events []Event) string {
	d := newEventDigest()
	for i := range events {
		d.add(&events[i])
	}
	return d.sum()
}
