#!/usr/bin/env bash
# Start-up and resident memory of triage-server on a large store: STARTS starts one after
# the other (each timed from exec to "listening": RocksDB open, WAL replay, queue index
# rebuild) with the resident set right after each; then a start under load (LOAD submits,
# 64 in flight, and 2,000 GetVolumes over the year), its resident set after the load, a
# SIGKILL (a lost node) and the start after it, which replays the write-ahead log.
# The store is made by `triage-statistics-fill --write_reports` (docs/BENCHMARKS.md):
#
#   build/bench/triage-statistics-fill --data_dir S/db --key_file S/key \
#       --audit_key_file S/audit-key --reports 10000000 --write_reports
#   bench/startup_scale.sh BUILD_DIR S [STARTS] [LOAD]
#
# The server runs on 127.0.0.1 with a throwaway credentials file; the store is used in
# place (each start adds its audit entries to it).
set -euo pipefail
umask 077
build=$1
store=$2
starts=${3:-3}
load=${4:-200000}
work=$(mktemp -d /tmp/triage-startup-XXXXXX)
server_pid=""
cleanup() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
# shellcheck source=bench/bench_lib.sh
source "$(dirname "$0")/bench_lib.sh"

for role in supervisor intake monitor; do
  "$build/tools/triagectl" admin add-token --credentials-file "$work/credentials" \
    --principal "bench-$role" --role "$role" > "$work/$role-token" 2>/dev/null
done
echo "# machine: $(nproc) cores, $(free -g | awk '/Mem/{print $2}') GiB, Linux $(uname -r)"
echo "# date: $(date -u +%FT%TZ); store $(du -sh "$store/db" | cut -f1)"
start() {  # $1: log name; prints start_up_seconds, waiting and the resident set
  local began up waiting
  began=$(date +%s.%N)
  "$build/services/triage-server" --listen=127.0.0.1:0 --data_dir="$store/db" \
    --key_file="$store/key" --audit_key_file="$store/audit-key" --rate_limit_per_second=0 \
    --credentials_file="$work/credentials" --insecure --metrics_listen= 2>"$work/$1.log" &
  server_pid=$!
  wait_listening "$1"
  up=$(awk -v a="$began" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
  waiting=$(TRIAGECTL_TOKEN=$(cat "$work/supervisor-token") "$build/tools/triagectl" \
    --server "$address" --json queues | /usr/bin/python3 -c \
    'import json,sys; print(sum(int(q.get("depth", 0)) for q in json.load(sys.stdin).get("queues", [])))')
  echo "$1 start_up_seconds=$up waiting=$waiting rss_mb=$(( $(ps -o rss= -p "$server_pid") / 1024 ))"
}
loadgen() {  # $1 role, then loadgen flags
  local role=$1
  shift
  TRIAGE_LOADGEN_TOKEN=$(cat "$work/$role-token") "$build/tools/triage-loadgen" \
    --server="$address" $(no_baseline "$build/tools/triage-loadgen") --max_duration=900s "$@" \
    | tr '\n' ' '
  echo
}
for n in $(seq "$starts"); do
  start "start$n"
  stop_server
done
start loaded
loadgen intake --method=submit --requests="$load" --concurrency=64
loadgen monitor --method=volumes --requests=2000 --concurrency=4 --stats_from=2025-12-01 \
  --stats_to=2026-12-01
echo "after_load rss_mb=$(( $(ps -o rss= -p "$server_pid") / 1024 ))"
kill -9 "$server_pid"
wait "$server_pid" 2>/dev/null || true
server_pid=""
start after_sigkill
stop_server
