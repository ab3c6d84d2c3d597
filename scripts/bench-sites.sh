#!/usr/bin/env bash
# Export and import throughput and peak memory at two site sizes, the larger
# ten times the smaller (FERRY_BENCH_PAGES, default 16000: about 125,000
# events, so that both sizes fill at least one 122,880-row Parquet row
# group, the unit the archive writer buffers). Memory must stay flat: each
# step's peak RSS may grow by less than 20% from the small site to the large.
set -euo pipefail
ferry=${1:-bin/ferry}
small=${FERRY_BENCH_PAGES:-16000}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
field() { sed -E "s/.*\"$1\":([0-9.]+).*/\1/" <<<"$2"; }
printf '%-7s %-8s %9s %9s %10s %9s\n' step pages events seconds events/s peakMiB
declare -A rss
for pages in "$small" $((small * 10)); do
	users=$((pages / 20 + 20)); spaces=$((pages / 500 + 4))
	"$ferry" generate --out "$dir/s.db" --users "$users" --spaces "$spaces" --pages "$pages" \
		--attachment-bytes $((pages * 5000)) --seed 1 --progress never >/dev/null
	json=$("$ferry" export --from "$dir/s.db" --out "$dir/s.ferry" --format json --progress never)
	events=$(field events "$json")
	secs=$(field seconds "$json"); peak=$(field peak_rss_bytes "$json")
	rss[export$pages]=$peak
	awk -v p="$pages" -v e="$events" -v s="$secs" -v m="$peak" 'BEGIN { printf "%-7s %-8d %9d %9.2f %10.0f %9.0f\n", "export", p, e, s, e/s, m/1048576 }'
	rm -f "$dir/s.db"
	json=$("$ferry" import "$dir/s.ferry" --to "$dir/copy.db" --allow-missing-apps --format json --progress never)
	secs=$(field seconds "$json"); peak=$(field peak_rss_bytes "$json")
	rss[import$pages]=$peak
	awk -v p="$pages" -v e="$events" -v s="$secs" -v m="$peak" 'BEGIN { printf "%-7s %-8d %9d %9.2f %10.0f %9.0f\n", "import", p, e, s, e/s, m/1048576 }'
	rm -f "$dir/s.ferry" "$dir"/copy.db*
done
status=0
for step in export import; do
	awk -v s="$step" -v a="${rss[$step$small]}" -v b="${rss[$step$((small * 10))]}" 'BEGIN {
		g = (b / a - 1) * 100
		printf "%s: peak RSS grows %.1f%% from the small site to the ten-times larger one (goal: under 20%%)\n", s, g
		exit (g < 20 ? 0 : 1) }' || status=1
done
exit $status
