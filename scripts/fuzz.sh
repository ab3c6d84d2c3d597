#!/usr/bin/env bash
# fuzz.sh PKG TARGET TIME: runs one fuzz target for TIME.
#
# Go's fuzzing engine sometimes exits non-zero at the end of -fuzztime
# without having found anything: no input is written (golang/go#51484), or
# the input it writes while shrinking passes when run again
# (golang/go#52569). So a run fails only when the engine writes a failing
# input that fails again when run on its own; the engine's own failures are
# reported, with its last lines, and do not fail the run.
#
# Shrinking each new input is bounded (-fuzzminimizetime 10x): the default
# minute per input left a short run of the archive targets, whose seeds are
# whole archives, a few dozen executions.
set -u
pkg=$1 fn=$2 time=$3
dir="$pkg/testdata/fuzz/$fn"
list() { ls "$dir" 2>/dev/null | sort; }
before=$(list)
out=$(mktemp)
trap 'rm -f "$out"' EXIT
echo "fuzz $fn in $pkg for $time"
if "${GO:-go}" test "$pkg" -run '^$' -fuzz "^$fn\$" -fuzztime "$time" -fuzzminimizetime 10x >"$out" 2>&1; then
	tail -n 3 "$out" # the last count of executions, and the verdict
	exit 0
fi
new=$(comm -13 <(echo "$before") <(list))
if [ -z "$new" ]; then
	echo "fuzz $fn: the fuzzing engine failed without a failing input (golang/go#51484); its last lines:"
	tail -n 12 "$out"
	exit 0
fi
for f in $new; do
	if ! "${GO:-go}" test "$pkg" -run "^$fn/$f\$" -timeout 5m >"$out.rerun" 2>&1; then
		cat "$out" "$out.rerun"
		rm -f "$out.rerun"
		echo "fuzz $fn: FAILED; the failing input is $dir/$f (go test $pkg -run '$fn/$f')"
		exit 1
	fi
	rm -f "$out.rerun"
	echo "fuzz $fn: the input the engine wrote passes when run again (golang/go#52569); removed $dir/$f"
	rm -f "$dir/$f"
done
tail -n 12 "$out"
exit 0
