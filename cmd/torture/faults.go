package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// faultyServer is how the faulty sandboxes behave: a fifth of the requests
// fail (500, 503, connection resets), bursts of 429s come without warning,
// and some answers stall.
var faultyServer = []string{"--fail-rate", "0.2", "--rate-limit", "150", "--hide-rate-headers", "--spikes", "0.05"}

// faults exports and imports through hostile sandboxes: the archive must
// have the same events as a clean export, and the import must leave the
// site a clean import leaves.
func (t *torture) faults() *result {
	r := &result{name: "export and import through a faulty server"}
	rounds := 3
	if t.c.crashes < 10 {
		rounds = 1
	}
	export := func(args ...string) (string, error) {
		sb, err := t.startSandbox(t.small, args...)
		if err != nil {
			return "", err
		}
		defer sb.stop()
		out := t.path("faults.ferry")
		defer os.Remove(out)
		json, err := t.must("export", "--from", sb.addr, "--out", out, "--format", "json", "--progress", "never")
		return digestOf(json), err
	}
	clean, err := export()
	if err != nil {
		r.fail("the clean export: %v", err)
		return r
	}
	for i := 0; i < rounds; i++ {
		r.trials++
		if got, err := export(faultyServer...); err != nil || got != clean {
			r.fail("export %d: %v, digest %.12s, want %.12s", i, err, got, clean)
		}
		r.trials++
		dest := t.path(fmt.Sprintf("faults-%d.db", i))
		sb, err := t.startSandbox(dest, faultyServer...)
		if err != nil {
			r.fail("import %d: %v", i, err)
			continue
		}
		_, err = t.must("import", t.smallArchive, "--to", sb.addr, "--journal", dest+".journal", "--allow-missing-apps", "--progress", "never")
		sb.stop()
		if err != nil {
			r.fail("import %d: %v", i, err)
		} else if got, err := fingerprint(dest); err != nil || got != t.httpReference {
			r.fail("import %d: %v %s", i, err, fingerprintDiff(t.httpReference, got))
		}
		removeSite(dest)
		removeSite(dest + ".journal")
	}
	return r
}

// diskFull exports and imports onto a filesystem too small for them: a
// tmpfs the trial mounts where it may, else a file size limit (prlimit)
// that makes writes fail the same way. Each must fail with a clear error,
// leave no archive under its final name, and, once there is room, the
// import must resume and finish.
func (t *torture) diskFull() *result {
	r := &result{name: "disk full during export and import"}
	st, err := os.Stat(t.archive)
	if err != nil {
		r.fail("%v", err)
		return r
	}
	full := t.path("full")
	os.MkdirAll(full, 0o755)
	mounted := exec.Command("mount", "-t", "tmpfs", "-o", "size="+strconv.FormatInt(st.Size()/2, 10), "tmpfs", full).Run() == nil
	if mounted {
		defer exec.Command("umount", full).Run()
	}
	limited := func(limit int64, args ...string) (string, int) {
		if mounted {
			_, errOut, code := t.ferry(args...)
			return errOut, code
		}
		cmd := exec.Command("prlimit", append([]string{"--fsize=" + strconv.FormatInt(limit, 10), t.c.ferry}, args...)...)
		var errb strings.Builder
		cmd.Stderr = &errb
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
			if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				code = 128 + int(ws.Signal())
			}
		}
		return errb.String(), code
	}
	how := "a tmpfs half the archive's size"
	if !mounted {
		how = "a file size limit of half the archive (no tmpfs here)"
	}
	fmt.Printf("  disk full: %s\n", how)
	clear := func(errOut string) bool {
		e := strings.ToLower(errOut)
		return strings.Contains(e, "no space left") || strings.Contains(e, "file too large") || strings.Contains(e, "disk") || strings.Contains(e, "full")
	}

	// Export.
	r.trials++
	out := filepath.Join(full, "site.ferry")
	errOut, code := limited(st.Size()/2, "export", "--from", t.site, "--out", out, "--progress", "never")
	switch {
	case code != 1:
		r.fail("export onto a full disk exited %d, want 1: %s", code, lastLines(errOut, 2))
	case !clear(errOut):
		r.fail("export onto a full disk: the error does not say the disk is full: %s", lastLines(errOut, 2))
	}
	if _, err := os.Stat(out); err == nil {
		r.fail("export onto a full disk left an archive under its final name")
	}
	if left, _ := os.ReadDir(full); len(left) > 0 {
		r.fail("export onto a full disk left %d file(s) behind, e.g. %s", len(left), left[0].Name())
	}

	// Import, then room, then the import resumes.
	r.trials++
	clean, _ := os.Stat(t.path("clean.db"))
	dest := filepath.Join(full, "copy.db")
	if mounted {
		exec.Command("mount", "-o", "remount,size="+strconv.FormatInt(clean.Size()/2, 10), full).Run()
	}
	errOut, code = limited(clean.Size()/2, "import", t.archive, "--to", dest, "--allow-missing-apps", "--progress", "never")
	switch {
	case code != 1:
		r.fail("import onto a full disk exited %d, want 1: %s", code, lastLines(errOut, 2))
	case !clear(errOut):
		r.fail("import onto a full disk: the error does not say the disk is full: %s", lastLines(errOut, 2))
	}
	if mounted {
		exec.Command("mount", "-o", "remount,size="+strconv.FormatInt(clean.Size()*4+64<<20, 10), full).Run()
	}
	time.Sleep(100 * time.Millisecond)
	if _, errOut, code := t.ferry("import", t.archive, "--to", dest, "--allow-missing-apps", "--progress", "never"); code != 0 {
		r.fail("the import did not resume once there was room: %s", lastLines(errOut, 2))
	} else if out, _, code := t.ferry("compare", t.site, dest); code != 0 {
		r.fail("after the disk filled up and the import resumed, the copy differs: %s", lastLines(out, 2))
	}
	removeSite(dest)
	return r
}

// fuzzTargets are every fuzz target: the parsers of untrusted bytes.
var fuzzTargets = [][2]string{{"./archive", "FuzzReader"}, {"./archive", "FuzzManifest"}, {"./confluencexml", "FuzzParse"}, {"./confluencexml", "FuzzFolder"}, {"./cloud", "FuzzAnswers"}}

// fuzz runs each target; what crashes one is kept by go test under the
// package's testdata/fuzz, where it becomes a regression test.
func (t *torture) fuzz() *result {
	r := &result{name: fmt.Sprintf("fuzzing, %v per target", t.c.fuzztime)}
	if t.c.fuzztime <= 0 {
		return r
	}
	for _, ft := range fuzzTargets {
		r.trials++
		cmd := exec.Command("bash", "scripts/fuzz.sh", ft[0], ft[1], t.c.fuzztime.String())
		out, err := cmd.CombinedOutput()
		if err != nil {
			r.fail("%s in %s: %s (the input is saved under %s/testdata/fuzz)", ft[1], ft[0], lastLines(string(out), 12), ft[0])
		}
	}
	return r
}
