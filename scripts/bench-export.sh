#!/usr/bin/env bash
# Export throughput and peak memory at two site sizes, the larger ten times
# the smaller (FERRY_BENCH_PAGES, default 16000: about 125,000 events,
# so that both sizes fill at least one 122,880-row Parquet row group, the
# unit the archive writer buffers). Memory must stay flat: the
# larger export's peak RSS may grow by less than 20%.
set -euo pipefail
ferry=${1:-bin/ferry}
small=${FERRY_BENCH_PAGES:-16000}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
printf '%-8s %8s %10s %10s %9s %9s %10s\n' pages events seconds events/s MB/s peakMiB archiveMB
declare -A rss
for pages in "$small" $((small * 10)); do
	users=$((pages / 20 + 20)); spaces=$((pages / 500 + 4))
	"$ferry" generate --out "$dir/s$pages.db" --users "$users" --spaces "$spaces" --pages "$pages" \
		--attachment-bytes $((pages * 5000)) --seed 1 --progress never >/dev/null
	json=$("$ferry" export --from "$dir/s$pages.db" --out "$dir/s$pages.ferry" --format json --progress never)
	read -r events secs bytes peak <<<"$(python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(d["events"], d["seconds"], d["archive_bytes"], d["peak_rss_bytes"])' "$json" 2>/dev/null ||
		echo "$json" | sed -E 's/.*"events":([0-9]+).*"archive_bytes":([0-9]+).*"seconds":([0-9.]+).*"peak_rss_bytes":([0-9]+).*/\1 \3 \2 \4/')"
	dbmb=$(( $(stat -c %s "$dir/s$pages.db") / 1000000 ))
	rss[$pages]=$peak
	awk -v p="$pages" -v e="$events" -v s="$secs" -v b="$bytes" -v m="$peak" -v db="$dbmb" \
		'BEGIN { printf "%-8d %8d %10.2f %10.0f %9.1f %9.0f %10.1f\n", p, e, s, e/s, db/s, m/1048576, b/1e6 }'
	rm -f "$dir/s$pages.db" "$dir/s$pages.ferry"
done
awk -v a="${rss[$small]}" -v b="${rss[$((small * 10))]}" 'BEGIN {
	g = (b / a - 1) * 100
	printf "peak RSS grows %.1f%% from the small site to the ten-times larger one (goal: under 20%%)\n", g
	exit (g < 20 ? 0 : 1) }'
