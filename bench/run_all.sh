#!/usr/bin/env bash
# `make bench`: the whole set of benchmarks on this machine in one run, bounded (about 10
# minutes here), printing each figure with its ratio and, at the end, each target of
# docs/BENCHMARKS.md with what this run measured. Loopback only; servers get fresh temp
# stores, removed afterwards (PostgreSQL's too: bench/postgres_compare.sh).
#
#   bench/run_all.sh [BUILD_DIR]
#
# 1. the machine: cores, memory, CPU, and the disk's fsync rate (dd with oflag=dsync);
# 2. micro-benchmarks (bench/triage_bench, Google Benchmark);
# 3. durable SubmitReport at 64 in flight against the no-op on the same server, 3 rounds
#    (triage-loadgen's baseline), with the server's CPU per call; then an open loop at half
#    the saturation rate (p99), claim + decide cycles, the mix;
#    twice the saturation rate (goodput: bench/overload.sh, one round, the server alone and
#    clients throttling) and what a refused call costs (bench/refusal_cost.sh);
# 4. start-up with QUEUED reports waiting (default 1,000,000) and the resident memory then;
# 5. the statistics queries on a store with the counters of STATISTICS_REPORTS reports
#    (default 2,000,000; the 10 million of the target with bench/statistics_bench.sh);
# 6. SubmitReport against PostgreSQL 15 doing the same insert (bench/postgres_compare.sh).
set -euo pipefail
umask 077
build=${1:-build}
queued=${QUEUED:-1000000}
statistics_reports=${STATISTICS_REPORTS:-2000000}
here=$(dirname "$0")
# shellcheck source=bench/bench_lib.sh
source "$here/bench_lib.sh"
make_work_dir triage-bench-all
loadgen=$build/tools/triage-loadgen
for role in intake triager supervisor; do
  "$build/tools/triagectl" admin add-token --credentials-file "$work/credentials" \
    --principal "bench-$role" --role "$role" >"$work/$role-token" 2>/dev/null
done
median() { sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }

start_server() {  # $1 log name, $2 data dir; sets $address, $server_pid, $started_seconds
  local began
  began=$(date +%s.%N)
  "$build/services/triage-server" --listen=127.0.0.1:0 --data_dir="$2" --key_file="$work/key" \
    --audit_key_file="$work/audit-key" --credentials_file="$work/credentials" --insecure \
    --rate_limit_per_second=0 --claim_lease=1h --metrics_listen= 2>"$work/$1.log" &
  server_pid=$!
  wait_listening "$1"
  started_seconds=$(awk -v a="$began" -v b="$(date +%s.%N)" 'BEGIN {printf "%.2f", b - a}')
}
run() {  # $1 token file, rest: loadgen flags; prints and returns (in $line) the run's line
  local out
  out=$(TRIAGE_LOADGEN_TOKEN=$(cat "$work/$1-token") "$loadgen" --server="$address" \
    --server_pid="$server_pid" --max_duration=300s "${@:2}")
  baseline_line=$(grep '^baseline ' <<<"$out" || true)
  line=$(grep '^method=' <<<"$out")
  [ -n "$baseline_line" ] && echo "  $baseline_line"
  echo "  $line"
  grep '^  of which' <<<"$out" || true
}

echo "== machine"
echo "# $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1), $(uname -sr)"
echo "# date: $(date -u +%FT%TZ)"
fsync_seconds=$( { dd if=/dev/zero of="$work/fsync-probe" bs=4k count=1000 oflag=dsync 2>&1 >/dev/null; } \
  | sed -n 's/.* copied, \([0-9.]*\) s.*/\1/p')
fsync_rate=$(awk -v s="$fsync_seconds" 'BEGIN {printf "%.0f", 1000 / s}')
rm -f "$work/fsync-probe"
echo "# disk: $fsync_rate synced 4 kB writes/s (dd if=/dev/zero bs=4k count=1000 oflag=dsync)"

echo "== micro-benchmarks (bench/triage_bench)"
"$build/bench/triage_bench" --benchmark_min_time=0.1 2>/dev/null | grep '^BM_'

echo "== SubmitReport at 64 in flight against the no-op on the same server (3 rounds)"
start_server desk "$work/desk"
ratios=() rates=() cpus=()
for i in 1 2 3; do
  run intake --method=submit --concurrency=64 --requests=30000 --run_id="all-$i"
  ratios+=("$(field "$line" ratio_to_noop)") rates+=("$(field "$line" rate_per_s)")
  cpus+=("$(field "$line" server_cpu_us_per_call)")
done
ratio=$(printf '%s\n' "${ratios[@]}" | median)
saturation=$(printf '%s\n' "${rates[@]}" | median)
cpu=$(printf '%s\n' "${cpus[@]}" | median)
echo "  medians: submit/no-op ${ratio}x, ${saturation} submits/s, server CPU ${cpu} us per submit"
if ! [[ "$saturation" =~ ^[0-9]+$ ]] || [ "$saturation" -lt 2 ]; then
  echo "run_all.sh: no saturation rate measured (submits failed?); stopping" >&2
  exit 1
fi

echo "== open loop at half the saturation rate"
half=$(( saturation / 2 ))
run intake --method=submit --rate="$half" --concurrency=4096 --requests=$(( half * 15 )) \
  --baseline=false --run_id=all-half
open_p99=$(field "$line" p99_ms)
echo "  at ${half}/s: p99 ${open_p99} ms"

echo "== claim + decide cycles at 64 in flight, and the default mix"
run triager --method=cycle --concurrency=64 --requests=20000
cycles=$(field "$line" rate_per_s)
TRIAGE_LOADGEN_INTAKE_TOKEN=$(cat "$work/intake-token") \
  TRIAGE_LOADGEN_STATISTICS_TOKEN=$(cat "$work/supervisor-token") \
  run triager --method=mix --concurrency=64 --requests=20000 --baseline=false
stop_server

echo "== start-up with $queued reports waiting"
start_server fill "$work/queued"
run intake --method=submit --concurrency=64 --requests="$queued" --max_duration=600s \
  --baseline=false --run_id=all-fill | sed 's/^/  fill: /'
stop_server
start_server restart "$work/queued"
startup=$started_seconds
rss_mb=$(awk '/VmRSS/ {printf "%.0f", $2 / 1024}' "/proc/$server_pid/status")
echo "  start-up ${startup} s (open, queue index rebuilt, listening); resident ${rss_mb} MB"
stop_server

echo "== statistics queries, counters of $statistics_reports reports over a year"
"$build/bench/triage-statistics-fill" --data_dir="$work/stats" --key_file="$work/key" \
  --audit_key_file="$work/audit-key" --reports="$statistics_reports" | sed 's/^/  /'
start_server stats "$work/stats"
for method in volumes compare shifts; do
  run supervisor --method="$method" --concurrency=1 --requests=50 --baseline=false >/dev/null
  run supervisor --method="$method" --concurrency=1 --requests=1000 --baseline_requests=1000
  [ "$method" = volumes ] && volumes_p99=$(field "$line" p99_ms)
  [ "$method" = compare ] && compare_p99=$(field "$line" p99_ms)
  [ "$method" = shifts ] && shifts_p99=$(field "$line" p99_ms)
done
stop_server

# Twice saturation needs a generator that can offer it on schedule: bench/overload.sh pins
# the server and the generator to a core each and, as root with cgroup v1, holds the
# server to 40% of its core (docs/BENCHMARKS.md "Overload"). One round of the server
# alone and of clients throttling themselves (K = 1.2), then what a refusal costs.
echo "== twice the saturation rate (bench/overload.sh, 1 round) and the refusal cost"
overload_cpu=""
[ "$(id -u)" = 0 ] && [ -w /sys/fs/cgroup/cpu ] && overload_cpu=0.4
overload_out=$(SERVER_CPU=$overload_cpu CLIENT_K=1.2 VARIANTS="protected protected+throttle" \
  "$here/overload.sh" "$build" 10 2>&1)
grep -E '^(#|  round)' <<<"$overload_out" | sed 's/^  //; s/^/  /'
share_of() { sed -n "s/.*round 1 $1: goodput [0-9]*\/s = \([0-9]*\)% of saturation.*/\1/p" <<<"$overload_out"; }
goodput_share=$(share_of protected) throttled_share=$(share_of 'protected+throttle')
refusal_out=$("$here/refusal_cost.sh" "$build" 10000 2>&1 | grep '^round')
sed 's/^/  /' <<<"$refusal_out"
refusal_r=$(sed -n 's/.* r = refused\/stored = \([0-9.]*\).*/\1/p' <<<"$refusal_out")

echo "== SubmitReport against PostgreSQL 15 (bench/postgres_compare.sh, 1 round of 15 s)"
pg_out=$("$here/postgres_compare.sh" "$build" 15 64 1 2>&1 | grep -v '^#')
sed 's/^/  /' <<<"$pg_out"
pg_ratio=$(sed -n 's/^median submit\/postgresql \([0-9.]*\)x/\1/p' <<<"$pg_out")

verdict() { awk -v v="$1" -v t="$3" -v op="$2" 'BEGIN {
  ok = (op == ">=" && v >= t) || (op == "<=" && v <= t) || (op == "<" && v < t)
  print ok ? "met" : "MISSED" }'; }
echo "== targets (this run)"
printf '%-46s %12s %10s  %s\n' "target" "measured" "wanted" "" \
  "SubmitReport / no-op, 64 in flight" "${ratio}x" ">= 0.45x" "$(verdict "$ratio" ">=" 0.45)" \
  "SubmitReport / PostgreSQL insert, 64 clients" "${pg_ratio:-?}x" ">= 1.5x" "$(verdict "${pg_ratio:-0}" ">=" 1.5)" \
  "server CPU per durable submit" "${cpu} us" "<= 30 us" "$(verdict "$cpu" "<=" 30)" \
  "open loop at half saturation, p99" "${open_p99} ms" "<= 20 ms" "$(verdict "$open_p99" "<=" 20)" \
  "goodput at 2x saturation / saturation" "${goodput_share:-?}%" ">= 90%" "$(verdict "${goodput_share:-0}" ">=" 90)" \
  "  the same, clients throttling (K = 1.2)" "${throttled_share:-?}%" ">= 90%" "$(verdict "${throttled_share:-0}" ">=" 90)" \
  "claim + decide cycles per second" "$cycles" ">= 5000" "$(verdict "$cycles" ">=" 5000)" \
  "GetVolumes p99 ($statistics_reports reports)" "${volumes_p99} ms" "< 5 ms" "$(verdict "$volumes_p99" "<" 5)" \
  "CompareVolumes p99" "${compare_p99} ms" "< 50 ms" "$(verdict "$compare_p99" "<" 50)" \
  "DetectShifts p99" "${shifts_p99} ms" "< 50 ms" "$(verdict "$shifts_p99" "<" 50)" \
  "start-up with $queued waiting" "${startup} s" "<= 5 s" "$(verdict "$startup" "<=" 5)" \
  "resident memory, $queued stored" "${rss_mb} MB" "<= 500 MB" "$(verdict "$rss_mb" "<=" 500)"
echo "(resident memory at 10 million stored reports: docs/BENCHMARKS.md; filling 10 million takes longer than this run)"
echo "(a refused submit costs the server ${refusal_r:-?} of a stored one: docs/BENCHMARKS.md \"Overload\" on what that bounds)"
