# Shared by the benchmark scripts (sourced): waiting for a server they started, stopping it.
# Expects $work (the scratch directory) and sets/reads $server_pid and $address.

# Waits for the "listening on ADDRESS" line in $work/$1.log; sets $address.
wait_listening() {
  local name=$1
  for _ in $(seq 200); do
    address=$(grep -o 'listening on [^ ]*' "$work/$name.log" | cut -d' ' -f3 || true)
    [ -n "$address" ] && return 0
    sleep 0.05
  done
  echo "server $name did not start" >&2; cat "$work/$name.log" >&2; exit 1
}

stop_server() { kill "$server_pid"; wait "$server_pid" || true; server_pid=""; }

# "--metrics_listen=" (no metrics endpoint) for a server binary $1 that has the flag: the
# default port would clash with any other server on the machine (e.g. `make run`).
metrics_off() {
  if "$1" --help 2>&1 | grep -q -- '--metrics_listen'; then echo "--metrics_listen="; fi
}
