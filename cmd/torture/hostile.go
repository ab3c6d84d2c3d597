package main

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"

	"ferry/archive"
	"ferry/internal/hostile"
)

// maxHostilePeak is what any command may use on a hostile input.
const maxHostilePeak = 300 << 20

// hostileInputs tries inputs built to exhaust or fool ferry's readers:
// archives that are small on disk and decode to gigabytes, a token bomb in
// an XML export, a second signature appended to a signed archive, and an
// unsigned archive swapped in while an import under --trust waits. Each
// must be refused (or, for the swap, never read), by every command that
// reads it, with a clear error, no crash, no write, and a peak memory
// under 300 MB.
func (t *torture) hostileInputs() *result {
	r := &result{name: "hostile inputs (bombs, duplicate trailers, swaps)"}
	payload := 100        // MB: the reported case, 4 row groups of 4 payloads of 100 MB
	if t.c.crashes < 10 { // --short
		payload = 40
	}
	// Built by another process: a child's peak memory, as Linux reports
	// it, starts from its parent's, so this one must stay small.
	build := exec.Command(os.Args[0], "-build-hostile", t.c.dir, "-payload-mb", fmt.Sprint(payload))
	if out, err := build.CombinedOutput(); err != nil {
		r.trials++
		r.fail("building the hostile archives: %v: %s", err, lastLines(string(out), 3))
		return r
	}
	for _, name := range bombNames {
		path := t.path(name + ".ferry")
		st, err := os.Stat(path)
		if err != nil {
			r.trials++
			r.fail("%s: %v", name, err)
			continue
		}
		what := fmt.Sprintf("%s (%d KB)", strings.ReplaceAll(name, "-", " "), st.Size()>>10)
		dest := t.path("hostile-dest.db")
		removeSite(dest)
		for _, args := range [][]string{{"verify", path}, {"inspect", path}, {"inspect", path, "--sql", "SELECT string_agg(type || payload, ',') FROM events"},
			{"import", path, "--to", dest, "--allow-missing-apps", "--progress", "never"}} {
			t.refused(r, what+": ferry "+args[0], args...)
		}
		if _, err := os.Stat(dest); err == nil {
			r.fail("%s: the refused import created %s", what, dest)
		}
		os.Remove(path)
	}
	t.xmlBomb(r)
	t.duplicateTrailer(r)
	t.swappedArchive(r)
	return r
}

// bombNames are the archives buildBombs writes.
var bombNames = []string{"row-group-bomb", "a-payload-over-the-limit", "dictionary-bomb"}

// buildBombs writes the bomb archives into dir: what torture's helper
// process does (-build-hostile).
func buildBombs(dir string, payloadMB int) error {
	segs := map[string]hostile.Segment{
		"row-group-bomb":           {RowGroups: 4, Rows: 4, Type: "page.version", Payload: repeat(payloadMB << 20)},
		"a-payload-over-the-limit": {RowGroups: 1, Rows: 1, Type: "page.version", Payload: repeat(17 << 20)},
		"dictionary-bomb":          {RowGroups: 2, Rows: 100_000, Type: strings.Repeat("t", 1<<20), Payload: repeat(2), Dictionary: true},
	}
	for _, name := range bombNames {
		data, err := hostile.Archive([]hostile.Segment{segs[name]})
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, name+".ferry"), data, 0o600); err != nil {
			return err
		}
	}
	return nil
}

func repeat(n int) func(int64) []byte {
	b := bytes.Repeat([]byte("a"), n)
	return func(int64) []byte { return b }
}

// refused runs ferry and checks that it fails cleanly (exit 1, a message,
// no panic) within maxHostilePeak.
func (t *torture) refused(r *result, what string, args ...string) {
	r.trials++
	cmd := t.command(args...)
	var stderr strings.Builder
	cmd.Stdout, cmd.Stderr = io.Discard, &stderr
	err := cmd.Run()
	peak := int64(0)
	if cmd.ProcessState != nil {
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			peak = ru.Maxrss << 10 // kilobytes on Linux
		}
	}
	code := -1
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err == nil {
		code = 0
	}
	switch {
	case code != 1:
		r.fail("%s: exit %d, want 1: %s", what, code, lastLines(stderr.String(), 2))
	case strings.Contains(stderr.String(), "panic") || strings.Contains(stderr.String(), "goroutine "):
		r.fail("%s: a panic: %s", what, lastLines(stderr.String(), 3))
	case peak > maxHostilePeak:
		r.fail("%s: peak memory %d MB, over %d MB", what, peak>>20, maxHostilePeak>>20)
	}
	if t.c.verbose {
		fmt.Printf("    %s: exit %d, peak %d MB: %s\n", what, code, peak>>20, lastLines(stderr.String(), 1))
	}
}

// xmlBomb is a small zip whose entities.xml holds a 1 GiB attribute.
func (t *torture) xmlBomb(r *result) {
	path := t.path("xml-bomb.zip")
	f, err := os.Create(path)
	if err != nil {
		r.fail("xml bomb: %v", err)
		return
	}
	zw := zip.NewWriter(f)
	w, _ := zw.Create("entities.xml")
	io.WriteString(w, `<?xml version="1.0"?><hibernate-generic><object class="`)
	chunk := bytes.Repeat([]byte("a"), 1<<20)
	for i := 0; i < 1024; i++ {
		w.Write(chunk)
	}
	io.WriteString(w, `"/></hibernate-generic>`)
	zw.Close()
	f.Close()
	st, _ := os.Stat(path)
	t.refused(r, fmt.Sprintf("xml token bomb (%d KB zip): ferry export", st.Size()>>10), "export", "--from", "xml:"+path, "--out", t.path("xml-bomb.ferry"))
	if _, err := os.Stat(t.path("xml-bomb.ferry")); err == nil {
		r.fail("xml bomb: an archive was written")
	}
	os.Remove(path)
}

// duplicateTrailer appends a second signature to a signed archive.
func (t *torture) duplicateTrailer(r *result) {
	key := t.path("hostile-key")
	signed := t.path("signed.ferry")
	if _, err := t.must("keygen", "--out", key); err != nil {
		r.fail("duplicate trailer: %v", err)
		return
	}
	if _, err := t.must("export", "--from", t.small, "--out", signed, "--sign", key, "--progress", "never"); err != nil {
		r.fail("duplicate trailer: %v", err)
		return
	}
	data, err := os.ReadFile(signed)
	if err != nil {
		r.fail("duplicate trailer: %v", err)
		return
	}
	sig := signatureOf(signed, data)
	twice, err := hostile.AppendTrailer(data, hostile.Member{Name: "trailer/signature.json", Data: sig})
	if err != nil || sig == nil {
		r.fail("duplicate trailer: %v (signature found: %v)", err, sig != nil)
		return
	}
	path := t.path("two-signatures.ferry")
	os.WriteFile(path, twice, 0o600)
	dest := t.path("hostile-dest.db")
	removeSite(dest)
	for _, args := range [][]string{{"verify", path, "--trust", key + ".pub"}, {"inspect", path},
		{"import", path, "--to", dest, "--trust", key + ".pub", "--allow-missing-apps", "--progress", "never"}} {
		t.refused(r, "two signature trailers: ferry "+args[0], args...)
	}
	if _, err := os.Stat(dest); err == nil {
		r.fail("two signature trailers: the refused import created %s", dest)
	}
}

// signatureOf returns the bytes of an archive's signature trailer.
func signatureOf(path string, data []byte) []byte {
	f, err := archive.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var sig []byte
	f.Walk(func(m *archive.Member) error {
		if m.Name == archive.SignatureName {
			sig = data[m.Offset : m.Offset+m.Size]
		}
		return nil
	})
	return sig
}

// swappedArchive renames an unsigned archive over a signed one while an
// import under --trust waits on its --map (a FIFO): the import must bring
// in the archive it checked.
func (t *torture) swappedArchive(r *result) {
	r.trials++
	key, signed := t.path("hostile-key"), t.path("signed.ferry")
	reference := t.path("signed-reference.ferry")
	data, err := os.ReadFile(signed)
	if err != nil {
		r.fail("swap: %v", err)
		return
	}
	os.WriteFile(reference, data, 0o600)
	other := t.path("other-site.db")
	removeSite(other)
	if _, err := t.must("generate", "--out", other, "--users", "5", "--spaces", "1", "--pages", "6", "--seed", "77", "--progress", "never"); err != nil {
		r.fail("swap: %v", err)
		return
	}
	unsigned := t.path("unsigned.ferry")
	if _, err := t.must("export", "--from", other, "--out", unsigned, "--progress", "never"); err != nil {
		r.fail("swap: %v", err)
		return
	}
	fifo := t.path("map.fifo")
	os.Remove(fifo)
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		r.fail("swap: %v", err)
		return
	}
	dest := t.path("swap-dest.db")
	removeSite(dest)
	cmd := t.command("import", signed, "--to", dest, "--trust", key+".pub", "--map", fifo, "--allow-missing-apps", "--progress", "never")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		r.fail("swap: %v", err)
		return
	}
	w, err := os.OpenFile(fifo, os.O_WRONLY, 0) // returns once ferry opens the map: it has checked the archive
	if err != nil {
		cmd.Process.Kill()
		r.fail("swap: %v", err)
		return
	}
	os.Rename(unsigned, signed)
	w.WriteString("kind,source,destination\n")
	w.Close()
	if err := cmd.Wait(); err != nil {
		r.fail("swap: the import failed: %v %s", err, lastLines(stderr.String(), 2))
		return
	}
	if _, stderr, code := t.ferry("compare", reference, dest); code != 0 {
		r.fail("swap: the destination is not the archive that was checked: %s", lastLines(stderr, 2))
	}
	for _, p := range []string{fifo, reference, filepath.Join(t.c.dir, "unsigned.ferry")} {
		os.Remove(p)
	}
}
