#!/usr/bin/env bash
# Runs the W1–W4 benchmarks (shared/WORKLOAD.md) against Rapport's LMDB store
# and the raw-LMDB baseline in C, prints package-benchmark's tables, then a
# summary with the ratios to raw LMDB computed from this one run.
#
#     Benchmarks/run.sh                      # everything (about 5 to 10 minutes)
#     Benchmarks/run.sh --filter 'W1.*'      # extra arguments go to `swift package benchmark`
#
# Stores are written to a fresh temporary directory (under $TMPDIR or /tmp),
# deleted at the end. W3 and W4 reuse the stores W1 wrote; run alone, they
# build them first (outside the measurement).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/rapport-benchmarks.XXXXXX")"
trap 'rm -rf "$work"' EXIT

export RAPPORT_BENCH_DIR="$work/stores"
export RAPPORT_BENCH_RESULTS="$work/results.txt"
mkdir -p "$RAPPORT_BENCH_DIR"
: >"$RAPPORT_BENCH_RESULTS"

echo "== machine"
echo "cores: $(nproc)"
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
echo "memory: $(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)"
echo "stores on: $(df -T "$work" | awk 'NR == 2 {print $1 " (" $2 ")"}')"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo

cd "$here"
status=0
swift package --disable-sandbox benchmark --no-progress "$@" || status=$?

echo
echo "== summary (figures from this run; ratios are Rapport / raw LMDB)"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
awk '
function field(line, name,    n, parts, i, kv) {
    n = split(line, parts, " ")
    for (i = 1; i <= n; i++) {
        split(parts[i], kv, "=")
        if (kv[1] == name) return kv[2]
    }
    return ""
}
/^RESULT / {
    b = field($0, "benchmark")
    eps[b] = field($0, "events_per_s"); p50[b] = field($0, "p50_us"); p99[b] = field($0, "p99_us")
    p999[b] = field($0, "p999_us"); load[b] = field($0, "loadavg_1m"); txn[b] = field($0, "lmdb_txnid")
    sum[b] = field($0, "payload_byte_sum"); seen[b] = 1; order[++count] = b
    extra[b] = ""
    n = split($0, parts, " ")
    for (i = 2; i <= n; i++) {
        split(parts[i], kv, "=")
        if (kv[1] !~ /^(benchmark|operations|events|seconds|events_per_s|p50_us|p99_us|p999_us|max_us|loadavg_1m)$/) extra[b] = extra[b] " " parts[i]
    }
}
function ratio(a, b) { return (a in seen && b in seen && eps[b] > 0) ? sprintf("%.2fx", eps[a] / eps[b]) : "n/a" }
function verdict(ok) { return ok ? "met" : "NOT met" }
function target(label, a, b, minimum) {
    if (!(a in seen && b in seen)) return
    printf "%-32s Rapport / raw = %s  (target >= %.1fx: %s)\n", label, ratio(a, b), minimum, verdict(eps[a] >= minimum * eps[b])
}
END {
    printf "%-32s %12s %12s %12s %12s %6s\n", "benchmark", "events/s", "p50 (us)", "p99 (us)", "p99.9 (us)", "load"
    for (i = 1; i <= count; i++) {
        b = order[i]
        printf "%-32s %12s %12s %12s %12s %6s\n", b, eps[b], p50[b], p99[b], p999[b], load[b]
    }
    print ""
    print "details (cpu_us_per_event: CPU of the whole process per event, harness included;"
    print "written/storage bytes and write calls per event from /proc/self/io; lmdb_txnid: write transactions)"
    for (i = 1; i <= count; i++) if (extra[order[i]] != "") printf "  %-32s%s\n", order[i], extra[order[i]]
    print ""
    print "ratios: separate = two benchmarks run one after the other; interleaved = raw and Rapport"
    print "operations taking turns in one benchmark (both see the same moments of a shared machine)"
    target("W1 bulk append, separate", "W1/rapport", "W1/raw", 0.5)
    target("W1 bulk append, interleaved", "W1/interleaved-rapport", "W1/interleaved-raw", 0.5)
    target("W2 1 writer, separate", "W2/rapport-1-writer", "W2/raw", 0.9)
    target("W2 1 writer, interleaved", "W2/interleaved-rapport-1-writer", "W2/interleaved-raw", 0.9)
    if ("W2/rapport-8-writers" in seen) {
        r28 = ratio("W2/rapport-8-writers", "W2/rapport-1-writer")
        printf "%-32s 8 writers / 1 writer = %s, p99 = %s us  (target >= 5x and p99 < 5000 us: %s)\n", "W2 8 writers", r28, p99["W2/rapport-8-writers"], \
            r28 == "n/a" ? "n/a" : verdict(eps["W2/rapport-8-writers"] >= 5 * eps["W2/rapport-1-writer"] && p99["W2/rapport-8-writers"] < 5000)
        if (txn["W2/rapport-8-writers"] > 1) printf "%-32s %.1f appends per commit (%d write transactions)\n", "", 20000 / (txn["W2/rapport-8-writers"] - 1), txn["W2/rapport-8-writers"] - 1
    }
    target("W3 full replay, scan", "W3/rapport-scan", "W3/raw", 0.5)
    if ("W3/rapport-readLog" in seen && "W3/raw" in seen)
        printf "%-32s Rapport / raw = %s  (no target)\n", "W3 full replay, readLog", ratio("W3/rapport-readLog", "W3/raw")
    if ("W3/rapport-scan" in seen && "W3/raw" in seen)
        printf "%-32s %s\n", "W3 payload byte sums", (sum["W3/rapport-scan"] == sum["W3/raw"]) ? "equal (both read the same payloads)" : "DIFFER: " sum["W3/rapport-scan"] " vs " sum["W3/raw"]
    if ("W4/rapport" in seen)
        printf "%-32s p99 = %s us, raw point reads p99 = %s us  (target p99 < 100 us: %s)\n", "W4 stream read", p99["W4/rapport"], p99["W4/raw"], verdict(p99["W4/rapport"] < 100)
}' "$RAPPORT_BENCH_RESULTS"

exit "$status"
