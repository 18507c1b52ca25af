#!/usr/bin/env bash
# What a refused call costs the server, against a stored one: the server's CPU per call
# (/proc) for the no-op (grpc.health.v1 Check), a durable SubmitReport, and a SubmitReport
# refused with RESOURCE_EXHAUSTED after authentication (a principal over its rate limit:
# the same path a full call budget or the write backlog refuses on), each closed loop at 64
# in flight. From r = refused / stored it prints the most goodput any server-side shedding
# can keep when twice the saturation rate is offered and every excess call reaches the
# server: with the server's CPU the limit, g + r (2 - g) = 1, so g = (1 - 2r) / (1 - r);
# and with clients throttling at K (the SRE book's adaptive throttling: at most K calls
# sent per call accepted), g = 1 / (1 + r (K - 1)). Loopback only; temp stores removed
# afterwards.
#
#   bench/refusal_cost.sh [BUILD_DIR] [REQUESTS]     (REPEAT=N rounds, interleaved)
set -euo pipefail
build=${1:-build}
requests=${2:-20000}
here=$(dirname "$0")
# shellcheck source=bench/bench_lib.sh
source "$here/bench_lib.sh"
make_work_dir triage-refusal
export_intake_token "$build"
loadgen=$build/tools/triage-loadgen
pin_server_and_loadgen

start_server() {  # $1 name, rest: flags
  local name=$1; shift
  "${server_cpu[@]}" "$build/services/triage-server" --listen=127.0.0.1:0 --data_dir="$work/$name" \
    --key_file="$work/key" --audit_key_file="$work/audit-key" \
    --credentials_file="$work/credentials" --insecure --metrics_listen= "$@" 2>"$work/$name.log" &
  server_pid=$!
  wait_listening "$name"
}

# $1 label, rest: loadgen flags; prints the line and sets $cpu (server µs per call).
measure() {
  local label=$1; shift
  local line
  line=$("${loadgen_cpu[@]}" "$loadgen" --server="$address" --server_pid="$server_pid" \
    --baseline=false --concurrency=64 --requests="$requests" "$@" | grep '^method=')
  cpu=$(field "$line" server_cpu_us_per_call)
  echo "  $label: $line"
}

echo "# $(nproc) cores, $(date -u +%FT%TZ), server ${server_cpu[*]:-unpinned}, loadgen ${loadgen_cpu[*]:-unpinned}"
for round in $(seq "${REPEAT:-1}"); do
  start_server "stored-$round" --rate_limit_per_second=0
  measure no-op --method=health
  noop=$cpu
  measure stored --method=submit --run_id="stored-$round"
  stored=$cpu
  stop_server
  # One call of burst, then a token every 1,000 s: every call after the first is refused.
  start_server "refused-$round" --rate_limit_per_second=0.001 --rate_limit_burst=1
  measure refused --method=submit --run_id="refused-$round"
  refused=$cpu
  stop_server
  awk -v n="$noop" -v s="$stored" -v f="$refused" -v round="$round" 'BEGIN {
    r = f / s; g = (1 - 2 * r) / (1 - r); if (g < 0) g = 0
    printf "round %d: server CPU per call: no-op %.1f us, stored submit %.1f us, refused submit %.1f us\n", round, n, s, f
    printf "round %d: r = refused/stored = %.2f (no-op/stored %.2f); goodput bound at 2x: %.0f%% with no client throttling, %.0f%% with K=2, %.0f%% with K=1.2\n", round, r, n / s, 100 * g, 100 / (1 + r), 100 / (1 + 0.2 * r)
  }'
done
