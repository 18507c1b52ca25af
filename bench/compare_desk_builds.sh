#!/usr/bin/env bash
# Two builds of the server on the same desk store, alternated round by round (so the
# machine's drift hits both alike): each round starts BEFORE's server and then AFTER's on a
# fresh copy of STORE (a store kept by DESK_SCALE_STORE=STORE bench/desk_scale.sh), runs
# triage-loadgen --method=METHOD (cycle or claim) at 64 in flight for CALLS calls, and prints
# the loadgen line with the server's CPU per call (/proc) and the load generator's own CPU.
# Loopback only; the copies are removed afterwards. A BEFORE build older than the store's
# schema (e.g. one without the statistics family) refuses the copy: fill the store with it.
#
#   bench/compare_desk_builds.sh BEFORE_BUILD AFTER_BUILD STORE [ROUNDS] [METHOD] [CALLS]
set -euo pipefail
umask 077
before=$1 after=$2 store=$3 rounds=${4:-3} method=${5:-cycle} calls=${6:-20000}
[ -d "$store/db" ] || { echo "no kept store in $store (see bench/desk_scale.sh)" >&2; exit 2; }
work=$(mktemp -d /tmp/triage-desk-ab-XXXXXX)
server_pid=""
cleanup() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
# shellcheck source=bench/bench_lib.sh
source "$(dirname "$0")/bench_lib.sh"

one() {  # $1 label, $2 build
  rm -rf "$work/copy" && mkdir -p "$work/copy" && cp -r "$store/." "$work/copy/"
  "$2/services/triage-server" --listen=127.0.0.1:0 --data_dir="$work/copy/db" \
    --key_file="$work/copy/key" --audit_key_file="$work/copy/audit-key" \
    --credentials_file="$work/copy/credentials" --insecure --rate_limit_per_second=0 \
    --claim_lease=1h $(metrics_off "$2/services/triage-server") 2>"$work/$1.log" &
  server_pid=$!
  wait_listening "$1"
  local c0 c1 line
  c0=$(awk '{print $14+$15}' "/proc/$server_pid/stat")
  line=$(TRIAGE_LOADGEN_TOKEN=$(cat "$work/copy/triager-token") /usr/bin/time -f "loadgen_cpu_s=%U+%S" \
    "$after/tools/triage-loadgen" --server="$address" \
    $(no_baseline "$after/tools/triage-loadgen") --method="$method" --concurrency=64 \
    --requests="$calls" --max_duration=600s 2>&1 | tr '\n' ' ')
  c1=$(awk '{print $14+$15}' "/proc/$server_pid/stat")
  echo "$1 $line server_cpu_us_per_call=$(( (c1 - c0) * 1000000 / $(getconf CLK_TCK) / calls ))"
  stop_server
}

echo "# $(nproc) cores, $(date -u +%FT%TZ), $method x $calls per round, one load generator ($after)"
for _ in $(seq "$rounds"); do
  one before "$before"
  one after "$after"
done
