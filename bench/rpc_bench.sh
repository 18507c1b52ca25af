#!/usr/bin/env bash
# RPC throughput and latency of SubmitReport against a no-op RPC (grpc.health.v1 Check), with
# group commit and with one fsync per change, in one run on this machine. Loopback only;
# each server gets a fresh temp data dir that is removed afterwards.
#
#   bench/rpc_bench.sh [BUILD_DIR] [REPEATS]
set -euo pipefail
build=${1:-build}
repeats=${2:-3}
server_bin=$build/services/triage-server
loadgen=$build/tools/triage-loadgen
work=$(mktemp -d /tmp/triage-bench-XXXXXX)
server_pid=""
cleanup() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
# shellcheck source=bench/bench_lib.sh
source "$(dirname "$0")/bench_lib.sh"

triagectl=$build/tools/triagectl
(umask 077; head -c 32 /dev/urandom > "$work/key"; head -c 32 /dev/urandom > "$work/audit-key")
TRIAGE_LOADGEN_TOKEN=$("$triagectl" admin add-token --credentials-file "$work/credentials" \
  --principal bench-intake --role intake 2>/dev/null)
export TRIAGE_LOADGEN_TOKEN
triager_token=$("$triagectl" admin add-token --credentials-file "$work/credentials" \
  --principal bench-triager --role triager 2>/dev/null)

start_server() {  # $1: name, rest: extra flags; sets $address
  local name=$1; shift
  "$server_bin" --listen=127.0.0.1:0 --data_dir="$work/$name" --key_file="$work/key" \
    --audit_key_file="$work/audit-key" \
    --credentials_file="$work/credentials" --insecure --rate_limit_per_second=0 \
    --metrics_listen= "$@" 2>"$work/$name.log" &
  server_pid=$!
  wait_listening "$name"
}

echo "# machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr), disk $(df -h "$work" | awk 'NR==2 {print $1}')"
echo "# date: $(date -u +%FT%TZ)"
start_server group
report_id=$(TRIAGECTL_TOKEN=$TRIAGE_LOADGEN_TOKEN "$triagectl" --server "$address" --json submit \
  --reporter child --category grooming --description "benchmark report" 2>/dev/null \
  | sed -n 's/.*"reportId": "\([^"]*\)".*/\1/p')
for i in $(seq "$repeats"); do
  "$loadgen" --server="$address" --baseline=false --method=health --concurrency=64 --requests=20000
  "$loadgen" --server="$address" --baseline=false --method=submit --concurrency=64 --requests=20000 --run_id="g$i"
  "$loadgen" --server="$address" --baseline=false --method=submit --concurrency=1 --requests=2000 --run_id="s$i"
  TRIAGE_LOADGEN_TOKEN=$triager_token "$loadgen" --server="$address" --baseline=false \
    --method=get --concurrency=64 --requests=20000 --report_id="$report_id"
done
stop_server
start_server single --max_commit_batch=1
for i in $(seq "$repeats"); do
  "$loadgen" --server="$address" --baseline=false --method=submit --concurrency=64 --requests=5000 --run_id="o$i" \
    | sed 's/^method=submit/method=submit_one_fsync_per_change/'
done
stop_server
