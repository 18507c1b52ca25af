# Shared by the benchmark scripts (sourced): their scratch directory, keys and token;
# waiting for a server they started, stopping it.
# Expects $work (the scratch directory) and sets/reads $server_pid and $address.

# Waits for the "listening on ADDRESS" line in $work/$1.log; sets $address.
wait_listening() {
  local name=$1
  for _ in $(seq 200); do
    address=$(grep -os 'listening on [^ ]*' "$work/$name.log" | cut -d' ' -f3 || true)
    [ -n "$address" ] && return 0
    sleep 0.05
  done
  echo "server $name did not start" >&2; cat "$work/$name.log" >&2; exit 1
}

stop_server() { kill "$server_pid"; wait "$server_pid" || true; server_pid=""; }

# "--metrics_listen=" (no metrics endpoint) for a server binary $1 that has the flag: the
# default port would clash with any other server on the machine (e.g. `make run`).
metrics_off() {
  # Not `"$1" --help | grep -q`: grep leaving early kills the writer, and pipefail fails it.
  if grep -q -- '--metrics_listen' <<<"$("$1" --help 2>&1 || true)"; then
    echo "--metrics_listen="
  fi
}

# "--max_imports_in_flight=0" for a server binary $1 that has the flag (older builds, as
# bench/compare_builds.sh runs them, do not).
imports_unlimited() {
  if grep -q -- '--max_imports_in_flight' <<<"$("$1" --help 2>&1 || true)"; then
    echo "--max_imports_in_flight=0"
  fi
}

# "--baseline=false" for a triage-loadgen binary $1 that runs the no-op baseline by default:
# these scripts measure the no-op themselves, interleaved with what they compare.
no_baseline() {
  if grep -q -- '--baseline ' <<<"$("$1" --helpfull 2>&1 || true)"; then echo "--baseline=false"; fi
}

# Makes $work, a fresh temp dir /tmp/$1-XXXXXX, removed at exit with the server still
# running (if any) stopped; writes its data and audit keys.
make_work_dir() {
  work=$(mktemp -d "/tmp/$1-XXXXXX")
  server_pid=""
  trap 'cleanup_work_dir' EXIT
  (umask 077; head -c 32 /dev/urandom > "$work/key"; head -c 32 /dev/urandom > "$work/audit-key")
}
cleanup_work_dir() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null
  wait 2>/dev/null
  rm -rf "$work"
}

# Adds an intake token to $work/credentials with the triagectl of build dir $1 and exports
# it for triage-loadgen (TRIAGE_LOADGEN_TOKEN).
export_intake_token() {
  TRIAGE_LOADGEN_TOKEN=$("$1/tools/triagectl" admin add-token \
    --credentials-file "$work/credentials" --principal bench-intake --role intake 2>/dev/null)
  export TRIAGE_LOADGEN_TOKEN
}

# Sets server_cpu and loadgen_cpu (command prefixes) so that, with two or more cores, the
# server runs on CPU 0 and the load generator on CPU 1 (taskset): neither starves the
# other. Empty prefixes otherwise.
# shellcheck disable=SC2034  # read by the scripts that source this file
pin_server_and_loadgen() {
  server_cpu=() loadgen_cpu=()
  if [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then
    server_cpu=(taskset -c 0) loadgen_cpu=(taskset -c 1)
  fi
}

# field LINE NAME: the number after NAME= in a triage-loadgen line.
field() { sed -n "s/.* $2=\\([0-9.]*\\).*/\\1/p" <<<" $1" | head -1; }
