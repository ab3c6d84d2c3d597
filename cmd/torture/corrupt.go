package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"ferry/archive"
	importer "ferry/import"
)

// tripwire is a destination that records any attempt to write: import
// must refuse a damaged archive before it gets here.
type tripwire struct{ touched bool }

func (d *tripwire) SiteID() string { return "tripwire" }

func (d *tripwire) Update(context.Context, func(importer.Tx) error) error {
	d.touched = true
	return errors.New("tripwire: import reached the destination")
}

// corruption flips single bytes of the archive and cuts it short at
// random places: verify must find every one, and import must refuse every
// one before it opens the destination. A sample also goes through the
// ferry binary, as a user would run it.
func (t *torture) corruption() *result {
	r := &result{name: fmt.Sprintf("archive damaged (%d flips, %d truncations)", t.c.flips, t.c.truncations)}
	data, err := os.ReadFile(t.archive)
	if err != nil {
		r.fail("%v", err)
		return r
	}
	bad := t.path("damaged.ferry")
	check := func(what string, damaged []byte, viaCLI bool) {
		r.trials++
		if err := os.WriteFile(bad, damaged, 0o644); err != nil {
			r.fail("%s: %v", what, err)
			return
		}
		f, err := os.Open(bad)
		if err != nil {
			r.fail("%s: %v", what, err)
			return
		}
		rep := archive.Verify(f)
		f.Close()
		if rep.Intact {
			r.fail("%s: verify found nothing wrong", what)
			return
		}
		dest := &tripwire{}
		if _, err := importer.Run(t.ctx, bad, dest, importer.Options{AllowMissingApps: true}); err == nil || dest.touched {
			r.fail("%s: import did not refuse it before writing (err %v)", what, err)
			return
		}
		if !viaCLI {
			return
		}
		if _, _, code := t.ferry("verify", bad); code != 1 {
			r.fail("%s: ferry verify exited %d, want 1", what, code)
		}
		site := t.path("never.db")
		if _, _, code := t.ferry("import", bad, "--to", site, "--allow-missing-apps"); code != 1 {
			r.fail("%s: ferry import exited %d, want 1", what, code)
		}
		if _, err := os.Stat(site); err == nil {
			r.fail("%s: ferry import created the destination", what)
			removeSite(site)
		}
	}
	damaged := make([]byte, len(data))
	for i := 0; i < t.c.flips; i++ {
		copy(damaged, data)
		pos := t.rng.Intn(len(data))
		damaged[pos] ^= byte(1 + t.rng.Intn(255))
		check(fmt.Sprintf("byte %d flipped", pos), damaged, i%100 == 0)
	}
	for i := 0; i < t.c.truncations; i++ {
		n := t.rng.Intn(len(data))
		check(fmt.Sprintf("cut to %d bytes", n), data[:n], i%5 == 0)
	}
	os.Remove(bad)
	return r
}
