package main

import (
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// progressReader wraps r in a progress bar on stderr when --progress says
// so (auto: only when stderr is a terminal). size < 0 means unknown. The
// returned func finishes the bar.
func (g *globals) progressReader(r io.Reader, size int64, what string) (io.Reader, func()) {
	show := g.progress == "always" || g.progress == "auto" && term.IsTerminal(int(os.Stderr.Fd()))
	if !show {
		return r, func() {}
	}
	bar := progressbar.NewOptions64(size,
		progressbar.OptionSetWriter(os.Stderr),
		progressbar.OptionSetDescription(what),
		progressbar.OptionShowBytes(true),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
	)
	pr := progressbar.NewReader(r, bar)
	return &pr, func() { bar.Finish() }
}

// newBar returns a progress bar on stderr counting to total (-1: unknown),
// or nil when --progress says not to show one (auto: only on a terminal).
func (g *globals) newBar(total int64, what string) *progressbar.ProgressBar {
	if !(g.progress == "always" || g.progress == "auto" && term.IsTerminal(int(os.Stderr.Fd()))) {
		return nil
	}
	return progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(os.Stderr),
		progressbar.OptionSetDescription(what),
		progressbar.OptionSetWidth(25),
		progressbar.OptionShowCount(),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
	)
}

// progressCount shows a bar counting to total (-1: unknown). It returns a
// function that sets the count and one that finishes the bar.
func (g *globals) progressCount(total int64, what string) (func(int64), func()) {
	bar := g.newBar(total, what)
	if bar == nil {
		return func(int64) {}, func() {}
	}
	return func(n int64) { bar.Set64(n) }, func() { bar.Finish() }
}
