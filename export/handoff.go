package export

import (
	"context"

	"ferry/model"
)

// handoff passes a source's changes, in order and in batches, to another
// goroutine that encodes them: reading the embedded site (SQLite, and
// building each change) and encoding (JSON, the archive's columns, the
// events' digest) are each about half of what export's own goroutine did,
// and at 400,000 pages the second core was idle a fifth of the time.
// Batches keep the cost of passing small; at most handoffBatches of them
// wait, so memory stays bounded.
type handoff struct {
	ctx     context.Context
	batches chan []*model.Change
	stopped chan struct{} // closed when the encoder stops, on an error or at the end
	err     error         // the encoder's, readable once stopped is closed
	batch   []*model.Change
}

const (
	handoffBatch   = 256
	handoffBatches = 4
)

func newHandoff(ctx context.Context, encode func(*model.Change) error) *handoff {
	h := &handoff{ctx: ctx, batches: make(chan []*model.Change, handoffBatches), stopped: make(chan struct{})}
	go func() {
		defer close(h.stopped)
		for b := range h.batches {
			for _, c := range b {
				if h.err = encode(c); h.err != nil {
					return
				}
			}
		}
	}()
	return h
}

// emit queues a change for the encoder. It fails once the encoder has.
func (h *handoff) emit(c *model.Change) error {
	h.batch = append(h.batch, c)
	if len(h.batch) < handoffBatch {
		return nil
	}
	return h.send()
}

func (h *handoff) send() error {
	b := h.batch
	h.batch = make([]*model.Change, 0, handoffBatch)
	select {
	case h.batches <- b:
		return nil
	case <-h.stopped:
		return h.err
	case <-h.ctx.Done():
		return h.ctx.Err()
	}
}

// finish hands over what is left, unless reading failed, waits for the
// encoder and returns its error.
func (h *handoff) finish(failed bool) error {
	var err error
	if !failed && len(h.batch) > 0 {
		err = h.send()
	}
	close(h.batches)
	<-h.stopped
	if h.err != nil {
		return h.err
	}
	return err
}
