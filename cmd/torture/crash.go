package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"time"
)

// setup generates the sites the trials use, exports them, and measures a
// clean import of each: how long it takes (the kills fall within that) and
// what it leaves (every resumed import must leave the same).
func (t *torture) setup() error {
	t.site, t.archive = t.path("site.db"), t.path("site.ferry")
	t.small, t.smallArchive = t.path("small.db"), t.path("small.ferry")
	seed := strconv.FormatInt(t.c.seed%1000, 10)
	steps := [][]string{
		{"generate", "--out", t.site, "--users", "60", "--spaces", "4", "--pages", strconv.Itoa(t.c.pages), "--seed", seed,
			"--attachment-bytes", strconv.Itoa(t.c.pages * 8000), "--progress", "never"},
		{"export", "--from", t.site, "--out", t.archive, "--progress", "never"},
		{"generate", "--out", t.small, "--users", "15", "--spaces", "2", "--pages", strconv.Itoa(t.c.httpPages), "--seed", seed,
			"--attachment-bytes", strconv.Itoa(t.c.httpPages * 4000), "--progress", "never"},
		{"export", "--from", t.small, "--out", t.smallArchive, "--progress", "never"},
	}
	for _, s := range steps {
		if _, err := t.must(s...); err != nil {
			return err
		}
	}
	clean := t.path("clean.db")
	start := time.Now()
	if _, err := t.must("import", t.archive, "--to", clean, "--allow-missing-apps", "--progress", "never"); err != nil {
		return err
	}
	t.importTime = time.Since(start)
	var err error
	if t.clean, err = fingerprint(clean); err != nil {
		return err
	}
	ref := t.path("http-reference.db")
	sb, err := t.startSandbox(ref)
	if err != nil {
		return err
	}
	start = time.Now()
	_, err = t.must("import", t.smallArchive, "--to", sb.addr, "--journal", t.path("http-reference.journal"), "--allow-missing-apps", "--progress", "never")
	t.httpTime = time.Since(start)
	sb.stop()
	if err != nil {
		return err
	}
	if t.httpReference, err = fingerprint(ref); err != nil {
		return err
	}
	fmt.Printf("  setup: %d-page site (%s), clean import %.1fs; %d-page site over HTTP, clean import %.1fs\n",
		t.c.pages, size(t.archive), t.importTime.Seconds(), t.c.httpPages, t.httpTime.Seconds())
	return nil
}

func size(path string) string {
	st, err := os.Stat(path)
	if err != nil {
		return "?"
	}
	return fmt.Sprintf("%.1f MB archive", float64(st.Size())/1e6)
}

// randomMoment is when to kill: anywhere in a clean run, a little past
// its end now and then (the kill then finds it finished).
func (t *torture) randomMoment(clean time.Duration) time.Duration {
	return time.Duration(t.rng.Int63n(int64(clean)*11/10 + 1))
}

// crashEmbedded kills imports into an embedded site at random moments,
// resumes each, and compares the copy with the source.
func (t *torture) crashEmbedded() *result {
	r := &result{name: "import killed (SIGKILL) and resumed, embedded"}
	for i := 0; i < t.c.crashes; i++ {
		r.trials++
		dest := t.path(fmt.Sprintf("crash-%d.db", i))
		cmd := t.command("import", t.archive, "--to", dest, "--allow-missing-apps", "--progress", "never")
		if _, err := killAfter(cmd, t.randomMoment(t.importTime)); err != nil {
			r.fail("trial %d: %v", i, err)
			continue
		}
		if _, errOut, code := t.ferry("import", t.archive, "--to", dest, "--allow-missing-apps", "--progress", "never"); code != 0 {
			r.fail("trial %d: the resumed import failed: %s", i, lastLines(errOut, 2))
			removeSite(dest)
			continue
		}
		if out, _, code := t.ferry("compare", t.site, dest); code != 0 {
			r.fail("trial %d: the copy differs from the source: %s", i, lastLines(out, 2))
		} else if got, err := fingerprint(dest); err != nil || got != t.clean {
			r.fail("trial %d: %v %s", i, err, fingerprintDiff(t.clean, got))
		}
		removeSite(dest)
	}
	return r
}

// crashHTTP kills imports into a sandbox at random moments and resumes
// each, every other time without its journal (as if the machine running
// ferry were lost): the site must end as a clean import leaves it.
func (t *torture) crashHTTP() *result {
	r := &result{name: "import killed (SIGKILL) and resumed, over HTTP"}
	for i := 0; i < t.c.crashes; i++ {
		r.trials++
		dest, journal := t.path(fmt.Sprintf("http-%d.db", i)), t.path(fmt.Sprintf("http-%d.journal", i))
		sb, err := t.startSandbox(dest)
		if err != nil {
			r.fail("trial %d: %v", i, err)
			continue
		}
		args := []string{"import", t.smallArchive, "--to", sb.addr, "--journal", journal, "--allow-missing-apps", "--progress", "never"}
		if _, err := killAfter(t.command(args...), t.randomMoment(t.httpTime)); err != nil {
			r.fail("trial %d: %v", i, err)
		}
		if i%2 == 1 {
			removeSite(journal)
		}
		_, errOut, code := t.ferry(append(args, "--format", "json")...)
		sb.stop()
		if code != 0 {
			r.fail("trial %d: the resumed import failed: %s", i, lastLines(errOut, 2))
		} else if got, err := fingerprint(dest); err != nil || got != t.httpReference {
			r.fail("trial %d (journal kept: %v): %v %s", i, i%2 == 0, err, fingerprintDiff(t.httpReference, got))
		}
		removeSite(dest)
		removeSite(journal)
	}
	return r
}

// digestOf reads the events digest from export --format json.
func digestOf(out string) string {
	var s struct {
		Digest string `json:"events_digest"`
	}
	json.Unmarshal([]byte(out), &s)
	return s.Digest
}
