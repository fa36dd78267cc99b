#!/usr/bin/env bash
# Runs the PostgreSQL benchmarks (W1–W4 of shared/WORKLOAD.md against
# PostgresEventStore, beside raw INSERT / COPY / SELECT on the same server)
# and prints a summary with the ratios computed from this one run.
#
#     Benchmarks/run-postgres.sh                       # everything (about 10 to 20 minutes once built)
#     Benchmarks/run-postgres.sh --filter 'PG W2.*'    # extra arguments go to `swift package benchmark`
#
# The server is RAPPORT_POSTGRES_URL when set; otherwise scripts/with-postgres
# starts a throwaway PostgreSQL 15 listening on 127.0.0.1 only, and stops it
# (and deletes its data) when the run ends. The benchmarks drop and create
# their own schemas (bench_*) on that server.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/rapport-pg-benchmarks.XXXXXX")"
trap 'rm -rf "$work"' EXIT
export RAPPORT_BENCH_RESULTS="$work/results.txt"
: >"$RAPPORT_BENCH_RESULTS"

echo "== machine"
echo "date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo "cores: $(nproc)"
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
echo "memory: $(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo

cd "$here"
status=0
"$here/../scripts/with-postgres" bash -c '
    echo "== server: $RAPPORT_POSTGRES_URL"
    psql "$RAPPORT_POSTGRES_URL" -XAtc "SELECT version()" 2>/dev/null || true
    psql "$RAPPORT_POSTGRES_URL" -XAtc "SELECT name || '"'"'='"'"' || setting FROM pg_settings WHERE name IN
        ('"'"'fsync'"'"', '"'"'synchronous_commit'"'"', '"'"'wal_sync_method'"'"', '"'"'shared_buffers'"'"', '"'"'max_wal_size'"'"', '"'"'full_page_writes'"'"')" 2>/dev/null || true
    echo
    swift package --disable-sandbox benchmark --target PostgresBenchmarks --no-progress "$@"
' run-postgres "$@" || status=$?

echo
echo "== summary (figures from this run; ratios are Rapport / raw SQL on the same server)"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
awk '
function field(line, name,    n, parts, i, kv) {
    n = split(line, parts, " ")
    for (i = 1; i <= n; i++) { split(parts[i], kv, "="); if (kv[1] == name) return kv[2] }
    return ""
}
/^RESULT / {
    b = field($0, "benchmark")
    eps[b] = field($0, "events_per_s"); p50[b] = field($0, "p50_us"); p99[b] = field($0, "p99_us")
    p999[b] = field($0, "p999_us"); load[b] = field($0, "loadavg_1m"); seen[b] = 1; order[++count] = b
    extra[b] = ""
    n = split($0, parts, " ")
    for (i = 2; i <= n; i++) {
        split(parts[i], kv, "=")
        if (kv[1] !~ /^(benchmark|operations|events|seconds|events_per_s|p50_us|p99_us|p999_us|max_us|loadavg_1m)$/) extra[b] = extra[b] " " parts[i]
    }
}
function ratio(a, b) { return (a in seen && b in seen && eps[b] > 0) ? sprintf("%.2fx", eps[a] / eps[b]) : "n/a" }
function verdict(ok) { return ok ? "met" : "NOT met" }
function measured(a, b) { return a in seen && b in seen && eps[a] > 0 && eps[b] > 0 }
END {
    printf "%-30s %12s %12s %12s %12s %6s\n", "benchmark", "events/s", "p50 (us)", "p99 (us)", "p99.9 (us)", "load"
    for (i = 1; i <= count; i++) {
        b = order[i]
        printf "%-30s %12s %12s %12s %12s %6s\n", b, eps[b], p50[b], p99[b], p999[b], load[b]
    }
    print ""
    for (i = 1; i <= count; i++) if (extra[order[i]] != "") printf "  %-30s%s\n", order[i], extra[order[i]]
    print ""
    if (measured("PG-W1/rapport", "PG-W1/raw-copy"))
        printf "%-30s Rapport / COPY = %s  (target >= 0.5x: %s); Rapport / INSERT = %s\n", "W1 bulk append", ratio("PG-W1/rapport", "PG-W1/raw-copy"),
            verdict(eps["PG-W1/rapport"] >= 0.5 * eps["PG-W1/raw-copy"]), ratio("PG-W1/rapport", "PG-W1/raw-insert")
    if ("PG-W2/rapport-1-writer" in seen)
        printf "%-30s Rapport / INSERT = %s\n", "W2 1 writer", ratio("PG-W2/rapport-1-writer", "PG-W2/raw-insert-1-writer")
    if (measured("PG-W2/rapport-8-writers", "PG-W2/rapport-1-writer"))
        printf "%-30s 8 writers / 1 writer = %s  (target >= 4x: %s); raw INSERT 8 / 1 = %s; Rapport / raw at 8 = %s\n", "W2 8 writers",
            ratio("PG-W2/rapport-8-writers", "PG-W2/rapport-1-writer"), verdict(eps["PG-W2/rapport-8-writers"] >= 4 * eps["PG-W2/rapport-1-writer"]),
            ratio("PG-W2/raw-insert-8-writers", "PG-W2/raw-insert-1-writer"), ratio("PG-W2/rapport-8-writers", "PG-W2/raw-insert-8-writers")
    if ("PG-W3/rapport-readLog" in seen)
        printf "%-30s Rapport / SELECT = %s  (no target)\n", "W3 full replay", ratio("PG-W3/rapport-readLog", "PG-W3/raw-select")
    if ("PG-W4/rapport-readStream" in seen)
        printf "%-30s Rapport / SELECT = %s, p99 %s us against %s us  (no target on PostgreSQL)\n", "W4 stream read",
            ratio("PG-W4/rapport-readStream", "PG-W4/raw-select"), p99["PG-W4/rapport-readStream"], p99["PG-W4/raw-select"]
}' "$RAPPORT_BENCH_RESULTS"

exit "$status"
