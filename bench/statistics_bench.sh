#!/usr/bin/env bash
# The statistics RPCs at scale, and the import, on loopback.
#
# 1. Queries: a store given the statistics of REPORTS reports over a year
#    (bench/statistics_fill.cc, as ImportReports would count them) is served by
#    triage-server; triage-loadgen runs GetVolumes (365 days by day, by reporter type),
#    CompareVolumes (the first half-year against the second) and DetectShifts (the year),
#    CALLS each, one in flight (the latency of one dashboard) and then 4 in flight, next to
#    a no-op (Health/Check) on the same server, with the server's CPU per call from /proc.
# 2. Import: IMPORTS reports through ImportReports in batches of 1,000 into a fresh store,
#    1 and 4 requests in flight (triage-loadgen --method=import).
#
#   bench/statistics_bench.sh BUILD_DIR [REPORTS] [CALLS] [IMPORTS]
#
# With STATISTICS_STORE=DIR the filled store is kept in DIR after the first run (filling
# 10 million takes about 6 minutes here) and copied from there later. DIR is yours to
# remove. Everything else is in a temp dir, removed afterwards.
set -euo pipefail
umask 077
build=$1
reports=${2:-10700000}  # about 10.1 million after the generator's shift and noise
calls=${3:-2000}
imports=${4:-100000}
work=$(mktemp -d /tmp/triage-statistics-bench-XXXXXX)
server_pid=""
cleanup() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
# shellcheck source=bench/bench_lib.sh
source "$(dirname "$0")/bench_lib.sh"

saved=${STATISTICS_STORE:-}
if [ -n "$saved" ] && [ -d "$saved/db" ]; then
  cp -r "$saved/." "$work/"
  echo "# store copied from $saved: $(cat "$work/fill.txt")"
else
  "$build/bench/triage-statistics-fill" --data_dir="$work/db" --key_file="$work/key" \
    --audit_key_file="$work/audit-key" --reports="$reports" > "$work/fill.txt"
  echo "# $(cat "$work/fill.txt")"
  "$build/tools/triagectl" admin add-token --credentials-file "$work/credentials" \
    --principal bench-supervisor --role supervisor > "$work/supervisor-token" 2>/dev/null
  "$build/tools/triagectl" admin add-token --credentials-file "$work/credentials" \
    --principal bench-admin --role admin > "$work/admin-token" 2>/dev/null
  if [ -n "$saved" ]; then
    mkdir -p -m 700 "$saved"
    cp -r "$work/." "$saved/"
  fi
fi
supervisor=$(cat "$work/supervisor-token")
admin=$(cat "$work/admin-token")

# --max_imports_in_flight=0: the import runs measure 1 and 4 imports in flight from one
# principal; the import budget (8, one principal at most half) is left out of what they measure.
start_server() {  # $1: log name, $2: data dir
  "$build/services/triage-server" --listen=127.0.0.1:0 --data_dir="$2" \
    --key_file="$work/key" --audit_key_file="$work/audit-key" \
    --credentials_file="$work/credentials" --insecure --rate_limit_per_second=0 \
    $(imports_unlimited "$build/services/triage-server") --metrics_listen= 2>"$work/$1.log" &
  server_pid=$!
  wait_listening "$1"
}
cpu_ticks() { awk '{print $14+$15}' "/proc/$server_pid/stat"; }
measure() {  # $1 method, $2 token, $3 calls, then more loadgen flags
  local method=$1 token=$2 n=$3 c0 c1
  shift 3
  c0=$(cpu_ticks)
  TRIAGE_LOADGEN_TOKEN=$token "$build/tools/triage-loadgen" --server="$address" \
    $(no_baseline "$build/tools/triage-loadgen") \
    --method="$method" --requests="$n" --max_duration=600s "$@" | tr '\n' ' ' | tee "$work/last"
  c1=$(cpu_ticks)
  echo "server_cpu_us_per_call=$(( (c1 - c0) * 1000000 / $(getconf CLK_TCK) / n ))"
  if ! grep -q ' errors=0 ' "$work/last"; then
    echo "statistics_bench.sh: $method had errors; the figures above are not a result" >&2
    exit 1
  fi
}

echo "# machine: $(nproc) cores, $(free -g | awk '/Mem/{print $2}') GiB, Linux $(uname -r)"
echo "# date: $(date -u +%FT%TZ); $calls calls per query measure, $imports reports imported"
start_server queries "$work/db"
measure health "" "$calls" --concurrency=1
for method in volumes compare shifts; do
  measure "$method" "$supervisor" 50 --concurrency=1 >/dev/null  # warm the block cache
  measure "$method" "$supervisor" "$calls" --concurrency=1
done
measure health "" "$calls" --concurrency=4
for method in volumes compare shifts; do
  measure "$method" "$supervisor" "$calls" --concurrency=4
done
stop_server

for in_flight in 1 4; do
  start_server "import-$in_flight" "$work/import-$in_flight"
  measure import "$admin" $(( imports / 1000 )) --concurrency="$in_flight" --import_batch=1000 \
    --run_id="import-$in_flight"
  awk '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] } }
       END { printf "reports_per_s=%.0f\n", v["ok"] * 1000 / v["seconds"] }' "$work/last"
  stop_server
done
