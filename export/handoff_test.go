package export

import (
	"context"
	"errors"
	"strconv"
	"testing"

	"ferry/model"
)

func TestHandoffKeepsTheOrder(t *testing.T) {
	var got []string
	h := newHandoff(context.Background(), func(c *model.Change) error {
		got = append(got, c.ID)
		return nil
	})
	const n = 3*handoffBatch + 17 // full batches and a partial one
	for i := range n {
		if err := h.emit(&model.Change{ID: strconv.Itoa(i)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.finish(false); err != nil {
		t.Fatal(err)
	}
	if len(got) != n {
		t.Fatalf("encoded %d changes, want %d", len(got), n)
	}
	for i, id := range got {
		if id != strconv.Itoa(i) {
			t.Fatalf("change %d is %s: out of order", i, id)
		}
	}
}

// An encoder's failure stops the reading, bounded by what was queued, and
// is the error both sides report.
func TestHandoffStopsOnTheEncodersError(t *testing.T) {
	bad := errors.New("disk full")
	h := newHandoff(context.Background(), func(c *model.Change) error {
		if c.ID == "300" {
			return bad
		}
		return nil
	})
	var emitted int
	var err error
	for emitted = 0; emitted < 100*handoffBatch && err == nil; emitted++ {
		err = h.emit(&model.Change{ID: strconv.Itoa(emitted)})
	}
	if !errors.Is(err, bad) {
		t.Fatalf("emit returned %v, want the encoder's error", err)
	}
	if limit := 300 + (handoffBatches+2)*handoffBatch; emitted > limit {
		t.Errorf("the reader went on for %d changes after the encoder failed at 300 (limit %d)", emitted, limit)
	}
	if err := h.finish(true); !errors.Is(err, bad) {
		t.Errorf("finish returned %v, want the encoder's error", err)
	}
}
