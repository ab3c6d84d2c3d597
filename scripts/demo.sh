#!/usr/bin/env bash
# The demo: each step prints the command it runs, then runs it, as a user
# would. `make demo` runs it after building bin/ferry.
set -euo pipefail
ferry=${1:-bin/ferry}
dir=${DEMO_DIR:-demo}
mkdir -p "$dir"
archive=spec/testdata/golden-1.0.ferry

step() {
	local title=$1
	shift
	printf '\n== %s\n$ %s\n' "$title" "$*"
	"$@"
}

step "ferry and the archive format it writes" "$ferry" version
step "an archive is a plain tar file: header, event segments, blobs, manifest" tar -tvf "$archive"
step "its manifest lists every member with its SHA-256" sh -c "tar -xOf $archive manifest.json | head -c 600; echo ..."
step "verify re-reads every byte and checks every checksum" "$ferry" verify "$archive"

# Change one byte inside the event segment of a copy.
cp "$archive" "$dir/damaged.ferry"
offset=$(grep -abo PAR1 "$dir/damaged.ferry" | head -1 | cut -d: -f1)
printf 'X' | dd of="$dir/damaged.ferry" bs=1 seek=$((offset + 200)) conv=notrunc status=none
printf '\n== a copy with one byte changed is refused, naming the damaged member\n$ %s verify %s\n' "$ferry" "$dir/damaged.ferry"
if "$ferry" verify "$dir/damaged.ferry"; then
	echo "demo: verify accepted a damaged archive" >&2
	exit 1
fi
echo "(exit status 1, as expected)"
