#!/usr/bin/env bash
# SubmitReport throughput of two builds (e.g. before and after a change) in one run on this
# machine, interleaved round by round so drift on a shared machine hits both alike, each
# against a no-op RPC (grpc.health.v1 Check) on the same server. Loopback only; each server
# gets a fresh temp data dir that is removed afterwards. Prints loadgen's lines with the
# build's name in front and the server's CPU time per call (from /proc; noise moves it less
# than throughput); compare medians.
#
#   bench/compare_builds.sh BEFORE_BUILD_DIR AFTER_BUILD_DIR [ROUNDS] [CONCURRENCY]
set -euo pipefail
before=$1
after=$2
rounds=${3:-3}
concurrency=${4:-64}
# shellcheck source=bench/bench_lib.sh
source "$(dirname "$0")/bench_lib.sh"
make_work_dir triage-compare
export_intake_token "$after"

start_server() {  # $1: build dir, $2: name; sets $address
  local build=$1 name=$2 extra=()
  # Builds from before the audit key file existed do not know its flag.
  local help
  help=$("$build/services/triage-server" --help 2>&1 || true)  # --help exits 1
  if grep -q -- '--audit_key_file' <<<"$help"; then
    extra+=(--audit_key_file="$work/audit-key")
  fi
  "$build/services/triage-server" --listen=127.0.0.1:0 --data_dir="$work/$name" \
    --key_file="$work/key" "${extra[@]}" --credentials_file="$work/credentials" --insecure \
    --rate_limit_per_second=0 $(metrics_off "$build/services/triage-server") 2>"$work/$name.log" &
  server_pid=$!
  wait_listening "$name"
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$server_pid/stat"; }  # user + system, 1/100 s
hz=$(getconf CLK_TCK)

run() {  # $1: side, rest: loadgen flags; prints loadgen's line and the server's CPU per call
  local side=$1; shift
  local before_ticks line ok
  before_ticks=$(cpu_ticks)
  line=$("$build/tools/triage-loadgen" --server="$address" \
    $(no_baseline "$build/tools/triage-loadgen") "$@")
  ok=$(sed -n 's/.* ok=\([0-9]*\).*/\1/p' <<<"$line")
  echo "$side $line server_cpu_us_per_call=$(( ( $(cpu_ticks) - before_ticks) * 1000000 / hz / (ok > 0 ? ok : 1) ))"
}

echo "# machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr)"
echo "# date: $(date -u +%FT%TZ); before=$before after=$after; $concurrency in flight"
for i in $(seq "$rounds"); do
  for side in before after; do
    build=${!side}
    start_server "$build" "$side-$i"
    run "$side" --method=health --concurrency="$concurrency" --requests=20000
    run "$side" --method=submit --concurrency="$concurrency" --requests=20000 --run_id="$side$i"
    stop_server
  done
done
