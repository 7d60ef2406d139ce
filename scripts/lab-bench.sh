#!/usr/bin/env bash
# Repeated `iosha lab --json` runs per failure mode and timer set; prints detection and outage p50/p99
# (nearest-rank percentiles), sessions survived and pass counts as a markdown table.
#
#   scripts/lab-bench.sh [-n RUNS] [-f "power-off crash link freeze"] [-t "seed fast"] [-b IOSHA] [-o DIR]
#                        [-- extra iosha lab arguments, e.g. --tcp 20 --udp 10]
#
# Needs root (the lab builds network namespaces), jq and awk. Each run's JSON report is kept in DIR
# (default: a fresh directory under /tmp) so the figures can be checked afterwards.
set -euo pipefail

runs=5
failures="power-off crash link freeze"
timers="seed fast"
iosha=""
outdir=""
while getopts "n:f:t:b:o:h" opt; do
    case "$opt" in
        n) runs="$OPTARG" ;;
        f) failures="$OPTARG" ;;
        t) timers="$OPTARG" ;;
        b) iosha="$OPTARG" ;;
        o) outdir="$OPTARG" ;;
        h) sed -n '2,9p' "$0"; exit 0 ;;
        *) exit 2 ;;
    esac
done
shift $((OPTIND - 1))
[ "${1:-}" = "--" ] && shift
extra=("$@")

if [ -z "$iosha" ]; then
    root="$(cd "$(dirname "$0")/.." && pwd)"
    cargo build --release -p cli --manifest-path "$root/Cargo.toml" >&2
    iosha="$root/target/release/iosha"
fi
command -v jq >/dev/null || { echo "lab-bench: needs jq" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "lab-bench: needs root (network namespaces)" >&2; exit 2; }
outdir="${outdir:-$(mktemp -d /tmp/iosha-lab-bench.XXXXXX)}"
mkdir -p "$outdir"

# percentile P (0-100) of the numbers on stdin, nearest rank; "-" when there are none
pct() {
    sort -n | awk -v p="$1" 'NF { v[++n] = $1 } END {
        if (n == 0) { print "-"; exit }
        r = int((p / 100) * n + 0.999999); if (r < 1) r = 1; if (r > n) r = n; print v[r] }'
}

echo "| failure | timers | runs | passed | detection p50 / p99 (ms) | outage p50 / p99 (ms) | sessions survived |"
echo "|---|---|---|---|---|---|---|"
for t in $timers; do
    for f in $failures; do
        for i in $(seq 1 "$runs"); do
            file="$outdir/$f-$t-$i.json"
            "$iosha" lab --quiet --json --failure "$f" --timers "$t" "${extra[@]}" >"$file" 2>"$outdir/$f-$t-$i.err" || true
        done
        files=("$outdir/$f-$t-"*.json)
        # Only complete reports count (a run that could not start leaves an empty file).
        valid=()
        for file in "${files[@]}"; do jq -e .failure "$file" >/dev/null 2>&1 && valid+=("$file"); done
        if [ "${#valid[@]}" -eq 0 ]; then
            echo "| $f | $t | 0 | 0 | - | - | - |"
            continue
        fi
        passed=$(jq -s '[.[] | select(.passed)] | length' "${valid[@]}")
        det=$(jq -r '.detection_ms // empty' "${valid[@]}")
        out=$(jq -r '.outage_ms // empty' "${valid[@]}")
        surv=$(jq -s '"\(map(.sessions_survived) | add) of \(map(.sessions_total) | add)"' -r "${valid[@]}")
        echo "| $f | $t | ${#valid[@]} | $passed | $(pct 50 <<<"$det") / $(pct 99 <<<"$det") | $(pct 50 <<<"$out") / $(pct 99 <<<"$out") | $surv |"
    done
done
echo
echo "reports: $outdir" >&2
