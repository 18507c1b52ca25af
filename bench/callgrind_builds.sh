#!/usr/bin/env bash
# Instructions per SubmitReport of two builds (e.g. without and with a change) in one run,
# counted by callgrind in the server: machine noise does not move an instruction count, so
# a cost of a few percent shows. Each server runs under `valgrind --tool=callgrind` on a
# fresh temp data dir, is warmed up with submits, and is instrumented only while
# triage-loadgen (of AFTER_BUILD_DIR) completes REQUESTS submits at CONCURRENCY in flight.
# Loopback only; bounded by REQUESTS; the temp dir is removed afterwards. Needs valgrind
# (installed with apt-get when missing, as root).
#
#   bench/callgrind_builds.sh BEFORE_BUILD_DIR AFTER_BUILD_DIR [REQUESTS] [CONCURRENCY]
#
# With CALLGRIND_KEEP=DIR the profiles are kept there (before.out*, after.out*) for
# `callgrind_annotate --inclusive=yes`. METHOD=cycle counts claim + decide cycles instead
# (REQUESTS of them, on REQUESTS + 1000 reports submitted first, as a triager).
set -euo pipefail
before=$1
after=$2
requests=${3:-4000}
concurrency=${4:-64}
if ! command -v valgrind >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq valgrind >/dev/null
fi
# shellcheck source=bench/bench_lib.sh
source "$(dirname "$0")/bench_lib.sh"
make_work_dir triage-callgrind
export_intake_token "$after"
loadgen=$after/tools/triage-loadgen
method=${METHOD:-submit}
case "$method" in
  submit) warm=1000 ;;
  cycle)
    warm=$(( requests + 1000 ))
    TRIAGE_LOADGEN_TRIAGER_TOKEN=$("$after/tools/triagectl" admin add-token \
      --credentials-file "$work/credentials" --principal bench-triager --role triager 2>/dev/null)
    export TRIAGE_LOADGEN_TRIAGER_TOKEN ;;
  *) echo "METHOD: submit or cycle" >&2; exit 2 ;;
esac

# Runs in this shell, not in $(...): a server started in a subshell would be out of reach of
# the EXIT trap (and of set -e) and outlive an interrupted run.
measure() {  # $1: build dir, $2: name; sets $per_submit, instructions per submit
  local build=$1 name=$2
  valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$work/$name.out" \
    "$build/services/triage-server" --listen=127.0.0.1:0 --data_dir="$work/$name" \
    --key_file="$work/key" --audit_key_file="$work/audit-key" \
    --credentials_file="$work/credentials" --insecure --rate_limit_per_second=0 \
    $(metrics_off "$build/services/triage-server") >"$work/$name.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 600); do  # valgrind starts slowly
    grep -qs 'listening on' "$work/$name.log" && break
    sleep 0.1
  done
  wait_listening "$name"
  "$loadgen" --server="$address" $(no_baseline "$loadgen") --method=submit \
    --concurrency="$concurrency" --requests="$warm" --run_id="warm-$name" >/dev/null
  callgrind_control -i on "$server_pid" >/dev/null 2>&1
  "$loadgen" --server="$address" $(no_baseline "$loadgen") --method="$method" \
    --concurrency="$concurrency" --requests="$requests" --run_id="$name" >"$work/$name.loadgen"
  callgrind_control -i off "$server_pid" >/dev/null 2>&1
  callgrind_control -d "$server_pid" >/dev/null 2>&1
  stop_server
  local ok total
  ok=$(sed -n 's/.* ok=\([0-9]*\).*/\1/p' "$work/$name.loadgen")
  [ "${ok:-0}" -gt 0 ] || { echo "no submit succeeded on $name" >&2; exit 1; }
  total=$(cat "$work/$name.out"* | awk '/^totals:/ {s += $2} END {printf "%.0f", s}')
  if [ -n "${CALLGRIND_KEEP:-}" ]; then mkdir -p "$CALLGRIND_KEEP"; cp "$work/$name.out"* "$CALLGRIND_KEEP"; fi
  per_submit=$(( total / ok ))
}

echo "# machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr)"
echo "# date: $(date -u +%FT%TZ); before=$before after=$after; $requests ${method}s, $concurrency in flight"
measure "$before" before; b=$per_submit
measure "$after" after; a=$per_submit
echo "before $b instructions per $method"
echo "after $a instructions per $method"
awk -v a="$a" -v b="$b" 'BEGIN {printf "after/before %.4f (%+.1f%%)\n", a / b, 100 * (a / b - 1)}'
