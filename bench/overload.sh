#!/usr/bin/env bash
# Overload: SubmitReport offered twice the saturation rate, open loop, from clients that
# give up after a second (--call_timeout=1s) over 8 connections, against a server with its
# call budgets (the defaults) and against one without (--max_calls_in_flight=0). Goodput is
# the submits answered OK per second, p99 that of the OK ones from their intended start.
# Loadgen and server share the machine, so the client's own CPU is part of what is measured.
# Loopback only; temp stores removed afterwards.
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
field() { sed -n "s/.* $2=\\([0-9.]*\\).*/\\1/p" <<<" $1" | head -1; }

start_server() {  # $1 name, rest: flags
  local name=$1; shift
  "$build/services/triage-server" --listen=127.0.0.1:0 --data_dir="$work/$name" \
    --key_file="$work/key" --audit_key_file="$work/audit-key" \
    --credentials_file="$work/credentials" --insecure --rate_limit_per_second=0 \
    --metrics_listen= "$@" 2>"$work/$name.log" &
  server_pid=$!
  wait_listening "$name"
}

echo "# $(nproc) cores, $(date -u +%FT%TZ)"
for variant in budgets no-budgets; do
  flags=()
  [ "$variant" = no-budgets ] && flags=(--max_calls_in_flight=0)
  start_server "$variant" "${flags[@]}"
  line=$("$loadgen" --server="$address" --server_pid="$server_pid" --baseline=false \
    --method=submit --concurrency=64 --requests=20000 --run_id="sat-$variant" | grep '^method=')
  saturation=$(field "$line" rate_per_s)
  double=$(awk -v s="$saturation" 'BEGIN {printf "%d", 2 * s}')
  echo "$variant: saturation (64 in flight) ${saturation}/s; offering ${double}/s for ${seconds}s"
  line=$("$loadgen" --server="$address" --server_pid="$server_pid" --baseline=false \
    --method=submit --rate="$double" --concurrency=100000 --channels=8 --call_timeout=1s \
    --requests=$(( double * seconds )) --max_duration="${seconds}s" --run_id="over-$variant" \
    | grep '^method=')
  echo "  $line"
  goodput=$(field "$line" goodput_per_s)
  echo "  $variant: goodput ${goodput}/s = $(awk -v g="$goodput" -v s="$saturation" \
    'BEGIN {printf "%.0f", 100 * g / s}')% of saturation; ok p99 $(field "$line" ok_p99_ms) ms"
  stop_server
done
