// Command ferry copies a Confluence site's data from one instance or
// organization to another in separate, auditable steps: export to an
// archive, inspect it offline, import it idempotently. See README.md.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"

	"ferry/archive"
)

// Exit codes, the same for every command (see cli.md).
const (
	exitOK      = 0
	exitFailure = 1 // failed; for verify: damaged; for compare: different
	exitUsage   = 2 // bad flag, missing argument
)

func main() {
	setMemoryLimit(archive.SoftMemoryLimit)
	exitsAfterRun = true
	os.Exit(run(os.Args[1:]))
}

// exitsAfterRun is true in the ferry process, where the outermost run is
// followed by the exit, and false in tests, which call run many times.
// runs counts the runs in progress: ferry demo runs its commands inside
// its own run, and none of those is followed by the exit.
var (
	exitsAfterRun bool
	runs          int
)

// exitsNext reports whether the process exits when the current command
// returns.
func exitsNext() bool { return exitsAfterRun && runs == 1 }

// setMemoryLimit sets Go's soft memory limit unless GOMEMLIMIT does: ferry
// streams, so its live memory is small and bounded, and the limit keeps
// the collector from letting the heap double past it.
func setMemoryLimit(bytes int64) {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(bytes)
	}
}

// collectAtLimit sets the soft memory limit and has the collector run only
// as the heap nears it, not each time the heap doubles, unless GOGC or
// GOMEMLIMIT say otherwise. It is for a command whose live heap is bounded
// well below the limit: ferry verify starts from a heap of a few MB and
// collected 8 times in its 0.08 s at 4,000 pages.
func collectAtLimit(bytes int64) {
	setMemoryLimit(bytes)
	if os.Getenv("GOMEMLIMIT") == "" && os.Getenv("GOGC") == "" {
		debug.SetGCPercent(-1)
	}
}

// exitInterrupted is the shell's code for a command ended by Ctrl-C.
const exitInterrupted = 130

// run executes the command line and maps its outcome to an exit code.
//
// Ctrl-C (or SIGTERM) cancels the command's context, so the command stops
// where it is and its cleanup runs: a partial archive or report is
// removed, an import's transaction is rolled back to its last checkpoint.
// A second Ctrl-C ends ferry at once.
func run(args []string) int {
	runs++
	defer func() { runs-- }()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		stop() // from now on the signal's default: a second one kills
	}()
	root := newRootCmd()
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	if ctx.Err() != nil {
		fmt.Fprintln(os.Stderr, "ferry: interrupted: stopped before finishing, and what was half-written was removed (an interrupted import resumes where it stopped when run again)")
		return exitInterrupted
	}
	var code *exitCodeError
	if errors.As(err, &code) {
		if code.err != nil {
			fmt.Fprintln(os.Stderr, "ferry:", safeText(code.err.Error()))
		}
		return code.code
	}
	fmt.Fprintln(os.Stderr, "ferry:", safeText(err.Error()))
	if errors.Is(err, archive.ErrNotArchive) {
		fmt.Fprintln(os.Stderr, notArchiveHint)
	}
	if strings.HasPrefix(err.Error(), "unknown command") {
		return exitUsage // cobra's own, raised before any command runs
	}
	return exitFailure
}

// exitCodeError carries an exit code other than 1 out of a command. A nil
// err means the command already told the user what happened.
type exitCodeError struct {
	code int
	err  error
}

func (e *exitCodeError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}

func (e *exitCodeError) Unwrap() error { return e.err }

// usageError marks a mistake in how the command was called.
func usageError(format string, args ...any) error {
	return &exitCodeError{code: exitUsage, err: fmt.Errorf(format, args...)}
}

// silentFailure exits 1 after the command printed its own result.
var silentFailure = &exitCodeError{code: exitFailure}

// notArchiveHint follows a refusal of a file that is not an archive: the
// likely mistake is giving a site or an export where an archive goes.
const notArchiveHint = "An archive is what 'ferry export' writes: to make one of an embedded site or an XML export, run\n  ferry export --from SITE.db --out SITE.ferry   (or --from xml:EXPORT.zip)"
