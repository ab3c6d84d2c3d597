// Command torture checks ferry's promises the hard way, as a user's
// machine would break them: imports killed with SIGKILL and resumed (into
// an embedded site and over HTTP through ferry sandbox), archives with
// flipped bytes and cut short, servers that fail, refuse and stall, disks
// that fill up, and fuzzing of every parser. It prints a table of trials,
// failures and what was lost, and exits 1 on any failure.
//
//	go run ./cmd/torture --ferry bin/ferry [--short] [--fuzztime 2m]
package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"time"
)

type config struct {
	ferry       string
	dir         string
	crashes     int // SIGKILLed imports per destination kind
	flips       int
	truncations int
	fuzztime    time.Duration
	pages       int // of the site the crash and corruption trials use
	httpPages   int // of the site imported over HTTP
	seed        int64
	only        string
	verbose     bool
}

// result is one kind of trial: how many ran, how many failed, and what
// the failures lost or let through.
type result struct {
	name     string
	trials   int
	failures int
	lost     []string
	took     time.Duration
}

func (r *result) fail(format string, args ...any) {
	r.failures++
	if len(r.lost) < 5 {
		r.lost = append(r.lost, fmt.Sprintf(format, args...))
	}
}

func main() {
	c := config{}
	short := flag.Bool("short", false, "a short run, for CI: a few trials of each kind")
	flag.StringVar(&c.ferry, "ferry", "bin/ferry", "the ferry binary to torture")
	flag.StringVar(&c.dir, "dir", "", "where to work (default: a temporary folder, removed after)")
	flag.IntVar(&c.crashes, "crashes", 50, "imports killed with SIGKILL, for each kind of destination")
	flag.IntVar(&c.flips, "flips", 2000, "single-byte flips of the archive")
	flag.IntVar(&c.truncations, "truncations", 50, "truncations of the archive")
	flag.DurationVar(&c.fuzztime, "fuzztime", 2*time.Minute, "how long each fuzz target runs (0: none)")
	flag.IntVar(&c.pages, "pages", 400, "pages of the site the crash and corruption trials use")
	flag.IntVar(&c.httpPages, "http-pages", 40, "pages of the site imported over HTTP")
	flag.Int64Var(&c.seed, "seed", time.Now().UnixNano(), "random seed (printed, to repeat a run)")
	flag.StringVar(&c.only, "only", "", "run only these trials: crash,http,corrupt,hostile,faults,disk,fuzz")
	flag.BoolVar(&c.verbose, "verbose", false, "print each hostile input's outcome and peak memory")
	buildHostile := flag.String("build-hostile", "", "(for torture itself) write the hostile archives into this folder and exit")
	payloadMB := flag.Int("payload-mb", 100, "(with -build-hostile) the row-group bomb's payload size")
	flag.Parse()
	if *buildHostile != "" {
		if err := buildBombs(*buildHostile, *payloadMB); err != nil {
			fmt.Fprintln(os.Stderr, "torture:", err)
			os.Exit(1)
		}
		return
	}
	if *short {
		c.crashes, c.flips, c.truncations = 4, 300, 10
		if !flagSet("http-pages") {
			c.httpPages = 20
		}
		if !flagSet("fuzztime") {
			c.fuzztime = 10 * time.Second
		}
	}
	if err := run(c); err != nil {
		fmt.Fprintln(os.Stderr, "torture:", err)
		os.Exit(1)
	}
}

func flagSet(name string) bool {
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

func run(c config) error {
	var err error
	if c.ferry, err = filepath.Abs(c.ferry); err != nil {
		return err
	}
	if _, err := os.Stat(c.ferry); err != nil {
		return fmt.Errorf("--ferry: %w (make build first)", err)
	}
	if c.dir == "" {
		if c.dir, err = os.MkdirTemp("", "ferry-torture-"); err != nil {
			return err
		}
		defer os.RemoveAll(c.dir)
	} else if err := os.MkdirAll(c.dir, 0o755); err != nil {
		return err
	}
	fmt.Printf("torture: seed %d, working in %s\n", c.seed, c.dir)
	rng := rand.New(rand.NewSource(c.seed))
	ctx := context.Background()
	t := &torture{c: c, rng: rng, ctx: ctx}
	if err := t.setup(); err != nil {
		return fmt.Errorf("setup: %w", err)
	}
	steps := []struct {
		key string
		fn  func() *result
	}{
		{"crash", t.crashEmbedded}, {"http", t.crashHTTP}, {"corrupt", t.corruption}, {"hostile", t.hostileInputs},
		{"faults", t.faults}, {"disk", t.diskFull}, {"fuzz", t.fuzz},
	}
	var results []*result
	for _, s := range steps {
		if c.only != "" && !strings.Contains(","+c.only+",", ","+s.key+",") {
			continue
		}
		start := time.Now()
		r := s.fn()
		r.took = time.Since(start)
		results = append(results, r)
		fmt.Printf("  %-44s %5d trials, %d failed (%.0fs)\n", r.name, r.trials, r.failures, r.took.Seconds())
	}
	failed := printTable(results)
	if failed > 0 {
		return fmt.Errorf("%d trial(s) failed (seed %d)", failed, c.seed)
	}
	return nil
}

func printTable(results []*result) int {
	fmt.Printf("\n%-44s %7s %9s  %s\n", "trial", "trials", "failures", "lost or let through")
	failed := 0
	for _, r := range results {
		lost := "nothing"
		if len(r.lost) > 0 {
			lost = strings.Join(r.lost, "; ")
		}
		fmt.Printf("%-44s %7d %9d  %s\n", r.name, r.trials, r.failures, lost)
		failed += r.failures
	}
	return failed
}
