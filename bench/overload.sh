#!/usr/bin/env bash
# Overload: SubmitReport offered twice the saturation rate, open loop, from clients that
# give up after a second (--call_timeout=1s) over 64 connections, against a server with its
# call budgets (the defaults) and against one without (--max_calls_in_flight=0). Goodput is
# the submits answered OK per second, p99 that of the OK ones from their intended start.
# With two or more cores, the server is pinned to CPU 0 and the load generator to CPU 1
# (taskset), so the generator's own work cannot starve the server or be starved by it; its
# issue_lag_p99_ms says whether it kept to the schedule (near --call_timeout: it did not,
# and the run shows the generator's limit, not the server's). Loopback only; temp stores
# removed afterwards.
#
#   bench/overload.sh [BUILD_DIR] [SECONDS]
set -euo pipefail
build=${1:-build}
seconds=${2:-10}
here=$(dirname "$0")
# shellcheck source=bench/bench_lib.sh
source "$here/bench_lib.sh"
make_work_dir triage-overload
export_intake_token "$build"
loadgen=$build/tools/triage-loadgen
pin_server_and_loadgen

# The server's CPU, as a share of one core (SERVER_CPU=0.4: 40%, through a cgroup v1 CPU
# quota; needs root). The generator costs about as much CPU per call as the server, so on
# a small machine only a server held to less than the generator's core can be offered twice
# what it can do. Empty: no quota.
server_cpu_share=${SERVER_CPU:-}
cgroup=""
if [ -n "$server_cpu_share" ]; then
  cgroup=/sys/fs/cgroup/cpu/triage-overload-$$
  mkdir "$cgroup"
  echo 10000 >"$cgroup/cpu.cfs_period_us"
  awk -v s="$server_cpu_share" 'BEGIN {printf "%d\n", s * 10000}' >"$cgroup/cpu.cfs_quota_us"
  trap 'cleanup_work_dir; rmdir "$cgroup" 2>/dev/null || true' EXIT
fi

start_server() {  # $1 name, rest: flags
  local name=$1; shift
  "${server_cpu[@]}" "$build/services/triage-server" --listen=127.0.0.1:0 --data_dir="$work/$name" \
    --key_file="$work/key" --audit_key_file="$work/audit-key" \
    --credentials_file="$work/credentials" --insecure --rate_limit_per_second=0 \
    --metrics_listen= "$@" 2>"$work/$name.log" &
  server_pid=$!
  [ -z "$cgroup" ] || echo "$server_pid" >"$cgroup/cgroup.procs"
  wait_listening "$name"
}

echo "# $(nproc) cores, $(date -u +%FT%TZ), server ${server_cpu[*]:-unpinned} ${server_cpu_share:+with ${server_cpu_share} of a core}, loadgen ${loadgen_cpu[*]:-unpinned}"
# protected: the server's defaults (call budgets, --max_write_backlog=100ms);
# unprotected: neither. Each with clients that throttle themselves on overload answers
# (--client_throttle=2, as front ends should) and with clients that do not.
# SERVER_FLAGS are added to every server's (e.g. --max_concurrent_streams=2). The saturation
# run goes over the same CHANNELS connections (default 64) as the overload, since a call
# costs the server more over many connections than over one (SAT_CHANNELS to change it).
# REPEAT=N runs the variants N times, interleaved, so that the machine's drift falls on
# every variant alike; quote medians.
for round in $(seq "${REPEAT:-1}"); do
for variant in ${VARIANTS:-protected+throttle protected unprotected+throttle unprotected}; do
  flags=() client=()
  case "$variant" in unprotected*) flags=(--max_calls_in_flight=0 --max_write_backlog=0) ;; esac
  case "$variant" in *+throttle) client=(--client_throttle="${CLIENT_K:-2}") ;; esac
  # shellcheck disable=SC2086
  start_server "${variant/+/-}" "${flags[@]}" ${SERVER_FLAGS:-}
  line=$("${loadgen_cpu[@]}" "$loadgen" --server="$address" --server_pid="$server_pid" --baseline=false \
    --method=submit --concurrency=64 --channels="${SAT_CHANNELS:-${CHANNELS:-64}}" --requests=20000 \
    --run_id="sat-${variant/+/-}" | grep '^method=')
  saturation=$(field "$line" rate_per_s)
  double=$(awk -v s="$saturation" 'BEGIN {printf "%d", 2 * s}')
  echo "round $round $variant: saturation (64 in flight) ${saturation}/s; offering ${double}/s for ${seconds}s"
  line=$("${loadgen_cpu[@]}" "$loadgen" --server="$address" --server_pid="$server_pid" --baseline=false \
    --method=submit --rate="$double" --concurrency=100000 --channels="${CHANNELS:-64}" --call_timeout=1s \
    --requests=$(( double * seconds )) --max_duration="${seconds}s" --run_id="over-${variant/+/-}" \
    "${client[@]}" | grep '^method=')
  echo "  $line"
  goodput=$(field "$line" goodput_per_s)
  ok_p99=$(field "$line" ok_p99_ms)
  [ -n "$ok_p99" ] || ok_p99=$(field "$line" p99_ms)  # no errors: every call was OK
  echo "  round $round $variant: goodput ${goodput}/s = $(awk -v g="$goodput" -v s="$saturation" \
    'BEGIN {printf "%.0f", 100 * g / s}')% of saturation; ok p99 ${ok_p99} ms;" \
    "issue lag p99 $(field "$line" issue_lag_p99_ms) ms"
  stop_server
done
done
