// Command bench measures ferry end to end on generated sites of three
// sizes, against baselines measured in the same run on the same data, and
// writes bench/results.md with bench/results.json beside it.
//
// Steps, each timed with its peak RSS: generate, export, verify, inspect
// (the summary and three audit queries), import into an empty site,
// evolve, an incremental export and its import, compare. Baselines: zstd
// alone compressing and decompressing the same bytes (the events as NDJSON
// and every blob), DuckDB read_json over the same events (inspect), the
// same rows inserted raw in batched SQLite transactions (import), the
// size of tar + zstd of the NDJSON dump and the blobs (archive size), and
// the audit queries in plain DuckDB over inspect --extract's folder, a
// process each (inspect's peak memory; plainduckdb.go).
// On the smaller sites, the steps with a ratio and their baselines run
// three times and the medians count; every timed step starts after a sync.
//
//	go run ./cmd/bench --ferry bin/ferry [--sizes 4000,40000,400000]
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// step is one timed command.
type step struct {
	Name     string  `json:"name"`
	Seconds  float64 `json:"seconds"`
	PeakMiB  float64 `json:"peak_rss_mib"`
	Events   int64   `json:"events,omitempty"`
	Baseline string  `json:"baseline,omitempty"`
	BaseSec  float64 `json:"baseline_seconds,omitempty"`
	Ratio    float64 `json:"ratio,omitempty"` // baseline time / ferry time: above 1, ferry is faster
	Note     string  `json:"note,omitempty"`
}

// size is one site's figures.
type size struct {
	Pages           int     `json:"pages"`
	Runs            int     `json:"runs"` // of each step with a ratio and of its baseline; the median counts
	PageVersions    int64   `json:"page_versions"`
	Events          int64   `json:"events"`
	AttachmentBytes int64   `json:"attachment_bytes"`
	ArchiveBytes    int64   `json:"archive_bytes"`
	TarZstdBytes    int64   `json:"tar_zstd_bytes"`
	SizeRatio       float64 `json:"archive_vs_tar_zstd"`
	Parts           *parts  `json:"archive_parts"`
	Steps           []step  `json:"steps"`
}

type results struct {
	When    string  `json:"when"`
	Cores   int     `json:"cores"`
	MemGiB  float64 `json:"memory_gib"`
	CPU     string  `json:"cpu"`
	Version string  `json:"ferry_version"`
	Sizes   []*size `json:"sizes"`
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == plainDuckDBMode {
		os.Exit(plainDuckDB(os.Args[2:]))
	}
	ferry := flag.String("ferry", "bin/ferry", "the ferry binary")
	sizes := flag.String("sizes", envOr("FERRY_BENCH_SIZES", "4000,40000,400000"), "pages of each site (env FERRY_BENCH_SIZES)")
	bytesPerPage := flag.Int64("attachment-bytes-per-page", 5250, "attachment bytes per page (400,000 pages: 2.1 GB)")
	out := flag.String("out", "bench/results.md", "the results (JSON beside it)")
	dir := flag.String("dir", "", "where to work (default: a temporary folder, removed after)")
	render := flag.Bool("render", false, "only rewrite the Markdown from the JSON beside it")
	flag.Parse()
	if *render {
		if err := rerender(*out); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(*ferry, *sizes, *bytesPerPage, *out, *dir); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func run(ferryBin, sizeList string, bytesPerPage int64, out, dir string) error {
	ferryBin, err := filepath.Abs(ferryBin)
	if err != nil {
		return err
	}
	if dir == "" {
		if dir, err = os.MkdirTemp("", "ferry-bench-"); err != nil {
			return err
		}
		defer os.RemoveAll(dir)
	}
	// The commands run from copies, as installed binaries are. A process's
	// peak RSS counts the pages of its binary it maps, and on this kernel
	// (6.18) a fault maps the whole page-cache folio around it: the same
	// inspect query peaked 6 MiB higher run from a binary just written by
	// the linker than from a copy of it, with equal code.
	bin := filepath.Join(dir, "bin")
	self, err := os.Executable()
	if err != nil {
		return err
	}
	if ferryBin, err = copyBinary(ferryBin, bin); err != nil {
		return err
	}
	if self, err = copyBinary(self, bin); err != nil {
		return err
	}
	res := &results{When: time.Now().UTC().Format(time.RFC3339), Cores: runtime.NumCPU(), MemGiB: memGiB(), CPU: cpuName()}
	v, _, _ := runCmd(ferryBin, "version")
	res.Version = strings.TrimPrefix(strings.TrimSpace(v.stdout), "ferry ")
	for _, s := range strings.Split(sizeList, ",") {
		pages, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || pages <= 0 {
			return fmt.Errorf("--sizes: %q is not a number of pages", s)
		}
		b := &bench{ferry: ferryBin, self: self, dir: filepath.Join(dir, s), pages: pages, bytes: int64(pages) * bytesPerPage, runs: ratioRuns}
		if err := os.MkdirAll(b.dir, 0o755); err != nil {
			return err
		}
		// inspect's cache (os.UserCacheDir) lives and goes with the size's folder.
		os.Setenv("XDG_CACHE_HOME", filepath.Join(b.dir, "cache"))
		fmt.Printf("== %d pages\n", pages)
		sz, err := b.run()
		if err != nil {
			return fmt.Errorf("%d pages: %w", pages, err)
		}
		res.Sizes = append(res.Sizes, sz)
		os.RemoveAll(b.dir)
		if err := write(res, out); err != nil { // after each size: a long run keeps what it measured
			return err
		}
	}
	fmt.Printf("results written to %s\n", out)
	return nil
}

func memGiB() float64 {
	data, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "MemTotal:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / (1 << 20)
		}
	}
	return 0
}

func cpuName() string {
	data, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	for _, line := range strings.Split(string(data), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}

func rerender(out string) error {
	data, err := os.ReadFile(strings.TrimSuffix(out, filepath.Ext(out)) + ".json")
	if err != nil {
		return err
	}
	var r results
	if err := json.Unmarshal(data, &r); err != nil {
		return err
	}
	return write(&r, out)
}

// copyBinary copies the executable path into folder dir and returns the copy.
func copyBinary(path, dir string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	in, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer in.Close()
	dst := filepath.Join(dir, filepath.Base(path))
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o755)
	if err != nil {
		return "", err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return "", err
	}
	return dst, out.Close()
}
