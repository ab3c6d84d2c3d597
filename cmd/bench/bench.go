package main

import (
	"archive/tar"
	"bufio"
	"cmp"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/klauspost/compress/zstd"

	"ferry/archive"
)

// The audit queries of the inspect step; inspect's own benchmark asks the
// same ones of read_json.
var auditQueries = []string{
	`SELECT entity, copied, count(*) FROM scope GROUP BY ALL`,
	`SELECT space, sum(bytes) AS bytes FROM events GROUP BY 1 ORDER BY 2 DESC LIMIT 5`,
	`SELECT space_key, status, count(*), sum(body_bytes) FROM pages GROUP BY ALL`,
}

type bench struct {
	ferry, dir string
	self       string // this bench's binary, for its plain-DuckDB mode
	pages      int
	bytes      int64
	runs       int // of each step with a ratio, and of its baseline: the median counts
}

// ratioRuns is how often a step with a ratio, and its baseline, run on
// every site: the median of the runs counts. On the smaller sites one run
// lasts seconds or less and a neighbour's burst can double it; on the
// largest, runs of half a minute do not even such load out either (zstd
// alone on the 400,000-page site's bytes took 15.0 s in one bench and
// 13.4 s in the next, which moved export's ratio from 0.51 to 0.47).
const ratioRuns = 3

// median is the middle of xs (the mean of the middle two when even).
func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	if n := len(s); n%2 == 0 {
		return (s[n/2-1] + s[n/2]) / 2
	}
	return s[len(s)/2]
}

// settle prepares a timed step, ferry's or a baseline's. It writes out the
// dirty pages the step before left (the site just generated, the archive
// just written), so that their writeback does not land on this step's
// time, and it reads the step's inputs once, so that every step starts
// with them in the page cache. Without that, a step's time depended on how
// long its input had lain unread: a kernel may page out file pages idle
// for a while (this machine's pages out those idle for a minute, through
// DAMON), and at 400,000 pages verify and inspect then read from disk an
// archive written minutes before, while their baselines, right after,
// read it from memory (ferry version alone took 65 ms there, 11 at 4,000).
func settle(inputs ...string) {
	syscall.Sync()
	buf := make([]byte, 1<<20)
	for _, path := range inputs {
		warm(path, buf)
	}
}

// warm reads a regular file through, to have it in the page cache.
func warm(path string, buf []byte) {
	f, err := os.Open(path)
	if err != nil {
		return
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		return
	}
	for {
		if _, err := f.Read(buf); err != nil {
			return
		}
	}
}

// repeat runs f b.runs times, each time settled with inputs, and returns
// the median of its seconds.
func (b *bench) repeat(inputs []string, f func() (float64, error)) (float64, error) {
	var secs []float64
	for range b.runs {
		settle(inputs...)
		s, err := f()
		if err != nil {
			return 0, err
		}
		secs = append(secs, s)
	}
	return median(secs), nil
}

// ferrySteps runs a ferry command b.runs times, with prepare before each
// run, and returns the last run's outcome with the median time and the
// highest peak RSS.
func (b *bench) ferrySteps(prepare func(), name string, args ...string) (outcome, error) {
	var last outcome
	var secs []float64
	var peak float64
	for range b.runs {
		if prepare != nil {
			prepare()
		}
		o, err := b.ferryStep(name, args...)
		if err != nil {
			return o, err
		}
		last, secs, peak = o, append(secs, o.seconds), max(peak, o.peakMiB)
	}
	last.seconds, last.peakMiB = median(secs), peak
	return last, nil
}

type outcome struct {
	stdout, stderr string
	seconds        float64
	peakMiB        float64
}

// runCmd runs a command and measures its time and peak RSS. The peak is
// the child's VmHWM, read every 5 ms (at 20 ms, a 30 ms inspect call was
// once read only before its query, at 19 MiB): the kernel's rusage would
// count the parent's memory too, which the child shares until it execs.
func runCmd(bin string, args ...string) (outcome, int, error) {
	cmd := exec.Command(bin, args...)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return outcome{}, -1, err
	}
	var peakKiB int64
	done := make(chan struct{})
	polled := make(chan struct{})
	go func() {
		defer close(polled)
		status := fmt.Sprintf("/proc/%d/status", cmd.Process.Pid)
		for {
			if kb, ok := vmHWM(status); ok {
				peakKiB = max(peakKiB, kb)
			}
			select {
			case <-done:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	err := cmd.Wait()
	close(done)
	<-polled
	o := outcome{stdout: out.String(), stderr: errb.String(), seconds: time.Since(start).Seconds(), peakMiB: float64(peakKiB) / 1024}
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		return o, -1, err
	}
	return o, code, nil
}

// vmHWM reads a process's peak RSS in KiB from its /proc status file.
func vmHWM(status string) (int64, bool) {
	data, err := os.ReadFile(status)
	if err != nil {
		return 0, false
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, err := strconv.ParseInt(f[1], 10, 64)
			return kb, err == nil
		}
	}
	return 0, false
}

func (b *bench) ferryStep(name string, args ...string) (outcome, error) {
	inputs := []string{b.ferry}
	for _, a := range args {
		if st, err := os.Stat(a); err == nil && st.Mode().IsRegular() {
			inputs = append(inputs, a)
		}
	}
	settle(inputs...)
	o, code, err := runCmd(b.ferry, args...)
	if err == nil && code != 0 {
		err = fmt.Errorf("ferry %s: exit %d: %s", strings.Join(args, " "), code, strings.TrimSpace(o.stderr))
	}
	fmt.Printf("  %-22s %8.2fs %8.0f MiB\n", name, o.seconds, o.peakMiB)
	return o, err
}

func (b *bench) run() (*size, error) {
	p := func(name string) string { return filepath.Join(b.dir, name) }
	sz := &size{Pages: b.pages, AttachmentBytes: b.bytes, Runs: b.runs}
	add := func(s step) { sz.Steps = append(sz.Steps, s) }
	pages := strconv.Itoa(b.pages)
	o, err := b.ferryStep("generate", "generate", "--out", p("site.db"), "--users", strconv.Itoa(b.pages/20+20), "--spaces", strconv.Itoa(b.pages/500+4),
		"--pages", pages, "--attachment-bytes", strconv.FormatInt(b.bytes, 10), "--seed", "1", "--progress", "never")
	if err != nil {
		return nil, err
	}
	add(step{Name: "generate", Seconds: o.seconds, PeakMiB: o.peakMiB})

	// Export, against zstd alone on the same bytes.
	o, err = b.ferrySteps(func() { os.Remove(p("site.ferry")) }, "export", "export", "--from", p("site.db"), "--out", p("site.ferry"), "--format", "json", "--progress", "never")
	if err != nil {
		return nil, err
	}
	var ex struct {
		Events    int64 `json:"events"`
		BlobBytes int64 `json:"blob_bytes"`
		Bytes     int64 `json:"archive_bytes"`
	}
	json.Unmarshal([]byte(o.stdout), &ex)
	sz.Events, sz.ArchiveBytes = ex.Events, ex.Bytes
	exportStep := step{Name: "export", Seconds: o.seconds, PeakMiB: o.peakMiB, Events: ex.Events}
	dump := p("dump.tar")
	if sz.Parts, err = writeDump(p("site.ferry"), dump); err != nil {
		return nil, fmt.Errorf("the NDJSON and blob dump: %w", err)
	}
	var zsize int64
	zw, err := b.repeat([]string{dump}, func() (secs float64, err error) {
		secs, zsize, err = zstdFile(dump, p("dump.tar.zst"))
		return secs, err
	})
	if err != nil {
		return nil, err
	}
	zr, err := b.repeat([]string{p("dump.tar.zst")}, func() (float64, error) { return unzstdFile(p("dump.tar.zst")) })
	if err != nil {
		return nil, err
	}
	os.Remove(dump)
	os.Remove(p("dump.tar.zst"))
	sz.TarZstdBytes, sz.SizeRatio = zsize, float64(ex.Bytes)/float64(zsize)
	exportStep.Baseline, exportStep.BaseSec, exportStep.Ratio = "zstd alone compressing the same events (NDJSON) and blobs", zw, zw/o.seconds
	exportStep.Note = "ferry also reads the site, orders the events, hashes every member and writes Parquet"
	add(exportStep)

	o, err = b.ferrySteps(nil, "verify", "verify", p("site.ferry"))
	if err != nil {
		return nil, err
	}
	// Verify must both decompress and hash every byte: its bar is the
	// slower of the two, each alone (issue 19).
	sha, err := b.repeat([]string{p("site.ferry")}, func() (float64, error) { return sha256File(p("site.ferry")) })
	if err != nil {
		return nil, err
	}
	base := max(zr, sha)
	add(step{Name: "verify", Seconds: o.seconds, PeakMiB: o.peakMiB, Events: ex.Events,
		Baseline: "the slower of zstd alone decompressing the same bytes and SHA-256 alone over the archive", BaseSec: base, Ratio: base / o.seconds,
		Note: fmt.Sprintf("zstd -d %.2fs, SHA-256 %.2fs; verify also checks the archive's framing and the Parquet segments", zr, sha)})

	// Inspect: the summary and three audit queries, as a reviewer runs them:
	// first with an empty cache, whose first call checks and keeps the
	// segments (as extracting them does for the baseline), then again.
	// The warm passes run b.runs times; the pass of median total counts.
	var coldSecs, peak float64
	var coldCalls []string
	type pass struct {
		secs         float64
		calls, peaks []string
	}
	var warm []pass
	for n := range 1 + b.runs {
		var ps pass
		for _, args := range append([][]string{{"inspect", p("site.ferry")}}, sqlArgs(p("site.ferry"))...) {
			o, err := b.ferryStep("inspect", args...)
			if err != nil {
				return nil, err
			}
			peak = max(peak, o.peakMiB)
			ps.secs += o.seconds
			ps.calls = append(ps.calls, fmt.Sprintf("%.2f", o.seconds))
			ps.peaks = append(ps.peaks, fmt.Sprintf("%.0f", o.peakMiB))
		}
		if n == 0 {
			coldSecs, coldCalls = ps.secs, ps.calls
		} else {
			warm = append(warm, ps)
		}
	}
	// The same review in two calls: the summary, then the three queries
	// as one --sql script, each result printed in turn.
	var twoCalls []float64
	for range b.runs {
		summary, err := b.ferryStep("inspect", "inspect", p("site.ferry"))
		if err != nil {
			return nil, err
		}
		script, err := b.ferryStep("inspect", append([]string{"inspect", p("site.ferry"), "--sql", strings.Join(auditQueries, ";\n")}, "--format", "csv")...)
		if err != nil {
			return nil, err
		}
		peak = max(peak, summary.peakMiB, script.peakMiB)
		twoCalls = append(twoCalls, summary.seconds+script.seconds)
	}
	// The cache remembers the summary after its first call
	// (inspect/cache_summary.go): computed afresh, without its memo.
	var computed []float64
	for range b.runs {
		memos, _ := filepath.Glob(filepath.Join(os.Getenv("XDG_CACHE_HOME"), "ferry", "inspect", "*", "summary.json"))
		if len(memos) == 0 {
			return nil, fmt.Errorf("inspect: no summary.json in the cache after the summary")
		}
		for _, m := range memos {
			os.Remove(m)
		}
		o, err := b.ferryStep("inspect", "inspect", p("site.ferry"))
		if err != nil {
			return nil, err
		}
		peak = max(peak, o.peakMiB)
		computed = append(computed, o.seconds)
	}
	slices.SortFunc(warm, func(x, y pass) int { return cmp.Compare(x.secs, y.secs) })
	secs, calls, peaks := warm[len(warm)/2].secs, warm[len(warm)/2].calls, warm[len(warm)/2].peaks
	remembered, _ := strconv.ParseFloat(calls[0], 64)
	withComputed := secs - remembered + median(computed)
	inspectStep := step{Name: "inspect (summary + 3 queries)", Seconds: secs, PeakMiB: peak, Events: ex.Events}
	var notes []string
	notes = append(notes, "the CLI's wall time per call (summary, then each query): "+strings.Join(calls, ", ")+
		fmt.Sprintf(" s; the first time, with an empty cache: %s s (%.2f s in all); peak RSS MiB per call: %s", strings.Join(coldCalls, ", "), coldSecs, strings.Join(peaks, ", ")))
	// What each call pays before its query, which the one-process
	// baseline pays once: starting ferry, then opening DuckDB over the
	// cached views.
	callFloor := func(args ...string) (float64, error) {
		var xs []float64
		for range 5 {
			o, code, err := runCmd(b.ferry, args...)
			if err == nil && code != 0 {
				err = fmt.Errorf("ferry %s: exit %d", strings.Join(args, " "), code)
			}
			if err != nil {
				return 0, err
			}
			xs = append(xs, o.seconds)
		}
		return median(xs), nil
	}
	if start, err := callFloor("version"); err == nil {
		if open, err := callFloor("inspect", p("site.ferry"), "--sql", "SELECT 1"); err == nil {
			notes = append(notes, fmt.Sprintf("what a call costs before its query (medians of 5): %.0f ms to start ferry (ferry version), %.0f ms to start it and open DuckDB over the cached views (--sql 'SELECT 1'); the three query calls pay %.2f s of it and the remembered summary the start, where the one-process baseline pays DuckDB's start once",
				start*1000, open*1000, 3*open))
		}
	}
	if m, err := goBench("./inspect", "InspectVsExtracted", p("site.ferry"), b.runs); err == nil {
		inspectStep.Baseline, inspectStep.BaseSec, inspectStep.Ratio = "one DuckDB over the archive's segments as tar -x writes them, same views, same queries", m["segments-s"], m["segments-s"]/secs
		notes = append(notes, fmt.Sprintf("in one process: inspect without its cache %.2fs, the segments %.2fs; over the events extracted Hive-partitioned by kind (inspect --extract, views.sql) %.2fs, against which the CLI's ratio is %.2f",
			m["inspect-s"], m["segments-s"], m["extracted-s"], m["extracted-s"]/secs))
		two := median(twoCalls)
		notes = append(notes, fmt.Sprintf("the same review in two calls (the summary, then the three queries as one --sql script): %.2f s, a ratio of %.2f", two, m["segments-s"]/two))
		notes = append(notes, fmt.Sprintf("the summary computed afresh, as if not remembered in the cache: %.2f s (remembered: %.2f s); the four calls with it: %.2f s, a ratio of %.2f",
			median(computed), remembered, withComputed, m["segments-s"]/withComputed))
	} else {
		notes = append(notes, "baseline failed: "+err.Error())
	}
	if m, err := goBench("./inspect", "InspectVsReadJSON", p("site.ferry"), b.runs); err == nil {
		notes = append(notes, fmt.Sprintf("against DuckDB read_json over the events as zstd NDJSON in one process: %.2fs vs %.2fs, %.1f×", m["inspect-s"], m["read_json-s"], m["ratio"]))
	}
	inspectStep.Note = strings.Join(notes, "; ")
	add(inspectStep)
	if plain, err := b.plainDuckDBStep(p("site.ferry")); err == nil {
		add(plain)
	} else {
		fmt.Println("  plain DuckDB failed:", err)
	}
	if versions, err := b.scalar(p("site.ferry"), `SELECT count(*) FROM events WHERE type = 'page.version'`); err == nil {
		sz.PageVersions = versions
	}

	// Import into an empty site, against raw batched inserts of the same rows.
	o, err = b.ferryStep("import", "import", p("site.ferry"), "--to", p("copy.db"), "--allow-missing-apps", "--format", "json", "--progress", "never")
	if err != nil {
		return nil, err
	}
	importStep := step{Name: "import", Seconds: o.seconds, PeakMiB: o.peakMiB, Events: ex.Events}
	// Once, as the import step runs.
	if m, err := goBench("./import", "RawInserts", p("site.ferry"), 1); err == nil {
		importStep.Baseline, importStep.BaseSec, importStep.Ratio = "the same rows inserted raw in batched SQLite transactions", m["raw-s"], m["raw-s"]/o.seconds
	} else {
		importStep.Note = "baseline failed: " + err.Error()
	}
	add(importStep)

	// A week of edits, exported and imported as an increment.
	// Evolving picks each change among all rows, so its time grows with
	// the site: a thousand changes at most.
	changes := strconv.Itoa(min(1000, max(100, b.pages/20)))
	if o, err = b.ferryStep("evolve", "generate", "--evolve", p("site.db"), "--changes", changes, "--seed", "2"); err != nil {
		return nil, err
	}
	add(step{Name: "evolve (" + changes + " changes)", Seconds: o.seconds, PeakMiB: o.peakMiB})
	o, err = b.ferryStep("export --since", "export", "--from", p("site.db"), "--out", p("inc.ferry"), "--since", p("site.ferry"), "--format", "json", "--progress", "never")
	if err != nil {
		return nil, err
	}
	var inc struct {
		Events int64 `json:"events"`
	}
	json.Unmarshal([]byte(o.stdout), &inc)
	add(step{Name: "incremental export", Seconds: o.seconds, PeakMiB: o.peakMiB, Events: inc.Events})
	if o, err = b.ferryStep("import increment", "import", p("inc.ferry"), "--to", p("copy.db"), "--progress", "never"); err != nil {
		return nil, err
	}
	add(step{Name: "incremental import", Seconds: o.seconds, PeakMiB: o.peakMiB, Events: inc.Events})
	if o, err = b.ferryStep("compare", "compare", p("site.db"), p("copy.db")); err != nil {
		return nil, fmt.Errorf("the copy differs from the source: %w", err)
	}
	add(step{Name: "compare (source and copy)", Seconds: o.seconds, PeakMiB: o.peakMiB})
	return sz, nil
}

func sqlArgs(arch string) [][]string {
	var out [][]string
	for _, q := range auditQueries {
		out = append(out, []string{"inspect", arch, "--sql", q, "--format", "csv"})
	}
	return out
}

func (b *bench) scalar(arch, q string) (int64, error) {
	o, code, err := runCmd(b.ferry, "inspect", arch, "--sql", q, "--format", "csv")
	if err != nil || code != 0 {
		return 0, fmt.Errorf("%v %s", err, o.stderr)
	}
	lines := strings.Split(strings.TrimSpace(o.stdout), "\n")
	return strconv.ParseInt(strings.TrimSpace(lines[len(lines)-1]), 10, 64)
}

var metric = regexp.MustCompile(`([0-9.e+-]+) ([A-Za-z_/-]+)`)

// goBench runs one of the packages' Go benchmarks on the archive count
// times and returns the median of each metric it reports.
func goBench(pkg, name, arch string, count int) (map[string]float64, error) {
	settle(arch)
	cmd := exec.Command("go", "test", pkg, "-run", "^$", "-bench", "^Benchmark"+name+"$", "-benchtime", "1x", "-count", strconv.Itoa(count), "-timeout", "120m")
	cmd.Env = append(os.Environ(), "FERRY_BENCH_ARCHIVE="+arch)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("go test %s -bench %s: %v: %s", pkg, name, err, lastLine(string(out)))
	}
	all := map[string][]float64{}
	for _, line := range strings.Split(string(out), "\n") {
		if !strings.HasPrefix(line, "Benchmark"+name) {
			continue
		}
		for _, g := range metric.FindAllStringSubmatch(line, -1) {
			if v, err := strconv.ParseFloat(g[1], 64); err == nil {
				all[g[2]] = append(all[g[2]], v)
			}
		}
	}
	m := map[string]float64{}
	for k, vs := range all {
		m[k] = median(vs)
	}
	return m, nil
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// writeDump writes what the archive holds, uncompressed, as one tar: the
// events as NDJSON and every blob as a file. It is what the zstd and tar
// baselines compress.
// parts is where an archive's bytes go, against the dump's: issue 19 asks
// why the archive is larger than tar + zstd.
type parts struct {
	Blobs      int64 `json:"blobs_stored"`
	BlobCount  int64 `json:"blob_count"`
	Segments   int64 `json:"segments"`
	Manifest   int64 `json:"manifest"`
	Framing    int64 `json:"tar_framing"` // headers, pax records, padding, end blocks
	EventsZstd int64 `json:"events_ndjson_zstd"`
}

// writeDump writes the baseline's dump of an archive, a tar of its events
// as NDJSON and its blobs, and says where the archive's bytes go.
func writeDump(arch, out string) (*parts, error) {
	f, err := archive.Open(arch)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	pt, err := archiveParts(arch)
	if err != nil {
		return nil, err
	}
	w, err := os.Create(out)
	if err != nil {
		return nil, err
	}
	defer w.Close()
	bw := bufio.NewWriterSize(w, 1<<20)
	tw := tar.NewWriter(bw)
	ndjson, err := os.CreateTemp(filepath.Dir(out), "events-*.ndjson")
	if err != nil {
		return nil, err
	}
	defer os.Remove(ndjson.Name())
	nb := bufio.NewWriterSize(ndjson, 1<<20)
	enc := json.NewEncoder(nb)
	it := f.Events()
	for it.Next() {
		ev := it.Event()
		enc.Encode(map[string]any{"seq": ev.Seq, "type": ev.Type, "entity": ev.Entity, "id": ev.ID, "parent": ev.Parent,
			"space": ev.Space, "at": ev.At, "actor": ev.Actor, "payload": json.RawMessage(ev.Payload)})
	}
	it.Close()
	if err := it.Err(); err != nil {
		return nil, err
	}
	if err := nb.Flush(); err != nil {
		return nil, err
	}
	st, _ := ndjson.Stat()
	ndjson.Seek(0, io.SeekStart)
	var counted countWriter
	zw, _ := zstd.NewWriter(&counted, zstd.WithEncoderLevel(zstd.SpeedDefault))
	io.Copy(zw, ndjson)
	zw.Close()
	pt.EventsZstd = counted.n
	ndjson.Seek(0, io.SeekStart)
	tw.WriteHeader(&tar.Header{Name: "events.ndjson", Mode: 0o644, Size: st.Size()})
	if _, err := io.Copy(tw, ndjson); err != nil {
		return nil, err
	}
	ndjson.Close()
	for _, m := range f.Members() {
		if m.Kind != archive.KindBlob {
			continue
		}
		r, err := f.OpenBlob(m.Digest)
		if err != nil {
			return nil, err
		}
		tmp, err := os.CreateTemp(filepath.Dir(out), "blob-*")
		if err != nil {
			r.Close()
			return nil, err
		}
		n, err := io.Copy(tmp, r)
		r.Close()
		if err == nil {
			tmp.Seek(0, io.SeekStart)
			if err = tw.WriteHeader(&tar.Header{Name: "blobs/" + m.Digest, Mode: 0o644, Size: n}); err == nil {
				_, err = io.Copy(tw, tmp)
			}
		}
		tmp.Close()
		os.Remove(tmp.Name())
		if err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return pt, bw.Flush()
}

// archiveParts reads the archive's tar headers (skipping the data) and
// sums its members' sizes by kind; the rest of the file is tar framing.
func archiveParts(arch string) (*parts, error) {
	fh, err := os.Open(arch)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return nil, err
	}
	pt := &parts{Framing: st.Size()}
	tr := tar.NewReader(fh)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return pt, nil
		}
		if err != nil {
			return nil, err
		}
		switch {
		case strings.HasPrefix(h.Name, "blobs/"):
			pt.Blobs += h.Size
			pt.BlobCount++
		case strings.HasPrefix(h.Name, "events/"):
			pt.Segments += h.Size
		case h.Name == archive.ManifestName:
			pt.Manifest += h.Size
		}
		pt.Framing -= h.Size
	}
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// zstdFile compresses in to out at zstd's default level, as ferry writes
// its members, and returns the seconds and the size.
func zstdFile(in, out string) (float64, int64, error) {
	r, err := os.Open(in)
	if err != nil {
		return 0, 0, err
	}
	defer r.Close()
	w, err := os.Create(out)
	if err != nil {
		return 0, 0, err
	}
	defer w.Close()
	start := time.Now()
	zw, _ := zstd.NewWriter(w, zstd.WithEncoderLevel(zstd.SpeedDefault))
	if _, err := io.Copy(zw, bufio.NewReaderSize(r, 1<<20)); err != nil {
		return 0, 0, err
	}
	if err := zw.Close(); err != nil {
		return 0, 0, err
	}
	if err := w.Sync(); err != nil {
		return 0, 0, err
	}
	secs := time.Since(start).Seconds()
	st, err := w.Stat()
	if err != nil {
		return 0, 0, err
	}
	return secs, st.Size(), nil
}

// sha256File hashes a file and returns the seconds it took.
func sha256File(path string) (float64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	start := time.Now()
	h := sha256.New()
	if _, err := io.Copy(h, bufio.NewReaderSize(f, 1<<20)); err != nil {
		return 0, err
	}
	return time.Since(start).Seconds(), nil
}

// unzstdFile decompresses a file and returns the seconds it took.
func unzstdFile(in string) (float64, error) {
	r, err := os.Open(in)
	if err != nil {
		return 0, err
	}
	defer r.Close()
	start := time.Now()
	zr, err := zstd.NewReader(bufio.NewReaderSize(r, 1<<20))
	if err != nil {
		return 0, err
	}
	defer zr.Close()
	if _, err := io.Copy(io.Discard, zr); err != nil {
		return 0, err
	}
	return time.Since(start).Seconds(), nil
}
