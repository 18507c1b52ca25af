#!/usr/bin/env bash
# The triage desk at scale, on loopback: fills a fresh store with N waiting reports through
# the server (loadgen submit, 64 in flight), restarts it and times the start-up (open and
# queue index rebuild), then measures ClaimNextReport alone (64 and 16 in flight, and an open
# loop at half the rate reached with 64) and claim + decide cycles at 64 in flight, each next
# to a no-op (Health/Check) on the same server, with the server's CPU per call from /proc.
# The temp dir is removed afterwards.
#
#   bench/desk_scale.sh BUILD_DIR [REPORTS] [CALLS]
#
# With DESK_SCALE_STORE=DIR the filled store (data, keys, credentials, tokens) is kept in
# DIR after the first run and copied from there by later runs, so that changes can be
# measured on the same store without filling it again. DIR is yours to remove.
set -euo pipefail
umask 077  # keys, tokens and the kept store are the user's alone
build=$1
reports=${2:-1000000}
calls=${3:-20000}
# Four measures take up to CALLS claims each (64 and 16 in flight, the open loop, cycles).
if [ -z "${DESK_SCALE_STORE:-}" ] || [ ! -d "${DESK_SCALE_STORE:-}/db" ]; then
  if [ "$reports" -lt $(( 4 * calls )) ]; then
    echo "desk_scale.sh: REPORTS ($reports) must be at least 4 x CALLS ($(( 4 * calls )))" >&2
    exit 2
  fi
fi
work=$(mktemp -d /tmp/triage-desk-scale-XXXXXX)
server_pid=""
cleanup() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
# shellcheck source=bench/bench_lib.sh
source "$(dirname "$0")/bench_lib.sh"

saved=${DESK_SCALE_STORE:-}
if [ -n "$saved" ] && [ -d "$saved/db" ]; then
  cp -r "$saved/." "$work/"
  filled=1
else
  head -c 32 /dev/urandom > "$work/key"; head -c 32 /dev/urandom > "$work/audit-key"
  "$build/tools/triagectl" admin add-token --credentials-file "$work/credentials" \
    --principal bench-intake --role intake > "$work/intake-token" 2>/dev/null
  "$build/tools/triagectl" admin add-token --credentials-file "$work/credentials" \
    --principal bench-triager --role triager > "$work/triager-token" 2>/dev/null
  filled=0
fi
intake=$(cat "$work/intake-token")
triager=$(cat "$work/triager-token")

start_server() {  # $1: log name; sets $address and $server_pid; prints the start-up time
  local began
  began=$(date +%s.%N)
  "$build/services/triage-server" --listen=127.0.0.1:0 --data_dir="$work/db" \
    --key_file="$work/key" --audit_key_file="$work/audit-key" \
    --credentials_file="$work/credentials" --insecure --rate_limit_per_second=0 \
    --claim_lease=1h --metrics_listen= 2>"$work/$1.log" &
  server_pid=$!
  wait_listening "$1"
  awk -v a="$began" -v b="$(date +%s.%N)" 'BEGIN { printf "start_up_seconds=%.2f\n", b - a }'
}
cpu_ticks() { awk '{print $14+$15}' "/proc/$server_pid/stat"; }
measure() {  # $1 method, $2 token, $3 calls, then more loadgen flags (default: 64 in flight)
  local method=$1 token=$2 n=$3 c0 c1
  shift 3
  [ "$n" -gt 0 ] || { echo "desk_scale.sh: no calls to make for $method" >&2; exit 1; }
  c0=$(cpu_ticks)
  TRIAGE_LOADGEN_TOKEN=$token "$build/tools/triage-loadgen" --server="$address" \
    $(no_baseline "$build/tools/triage-loadgen") \
    --method="$method" --requests="$n" --max_duration=600s "${@:---concurrency=64}" \
    | tr '\n' ' ' | tee "$work/last"
  c1=$(cpu_ticks)
  echo "server_cpu_us_per_call=$(( (c1 - c0) * 1000000 / $(getconf CLK_TCK) / n ))"
  if ! grep -q ' errors=0 ' "$work/last"; then  # e.g. no report left to claim
    echo "desk_scale.sh: $method had errors; the figures above are not a result" >&2
    exit 1
  fi
}
last_rate() { grep -o 'rate_per_s=[0-9]*' "$work/last" | cut -d= -f2; }

echo "# machine: $(nproc) cores, $(free -g | awk '/Mem/{print $2}') GiB, Linux $(uname -r)"
echo "# date: $(date -u +%FT%TZ); $reports reports waiting, $calls calls per measure"
if [ "$filled" = 0 ]; then
  start_server fill >/dev/null
  measure submit "$intake" "$reports"
  stop_server
  if [ -n "$saved" ]; then
    mkdir -p -m 700 "$saved"
    cp -r "$work/db" "$work/key" "$work/audit-key" "$work/credentials" "$work/intake-token" \
      "$work/triager-token" "$saved/"
  fi
else
  echo "# store copied from $saved"
fi
start_server measure
measure health "" "$calls"
measure claim "$triager" "$calls"
# Latency without the queueing of 64 callers: 16 in flight, and an open loop at half the
# rate 64 in flight reached (calls started on schedule, latency from the intended start).
half=$(( $(last_rate) / 2 ))
measure claim "$triager" "$calls" --concurrency=16
open_calls=$(( half * 5 < calls ? half * 5 : calls ))  # about 5 s, at most CALLS
measure claim "$triager" "$open_calls" --rate="$half" --concurrency=1000
measure health "" "$calls"
measure cycle "$triager" "$calls"
stop_server
