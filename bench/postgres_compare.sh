#!/usr/bin/env bash
# Durable SubmitReport against "a table in PostgreSQL" doing the same job, in one run on
# this machine: a throwaway PostgreSQL 15 cluster (Debian's postgresql-15; unix socket only,
# no TCP; synchronous_commit=on, fsync=on; removed afterwards) takes single-row INSERTs of
# a report of the same size as triage-loadgen's (a unique request id, reporter type,
# priority, queue, received time and the ~500-byte report) from pgbench at CLIENTS
# clients; then triage-server (fresh temp store, loopback) takes SubmitReport from
# triage-loadgen at CLIENTS in flight, next to a no-op RPC (grpc.health.v1 Check). Both
# write to the same disk; its fsync rate (pg_test_fsync) is printed first. ROUNDS rounds,
# each PostgreSQL then the no-op then SubmitReport (both servers up, the other idle), so a
# shared machine's drift hits both alike; prints each rate, the server's CPU per call, each
# round's ratios and their medians. Bounded: SECONDS per measurement.
#
#   bench/postgres_compare.sh [BUILD_DIR] [SECONDS] [CLIENTS] [ROUNDS]
set -euo pipefail
build=${1:-build}
seconds=${2:-20}
clients=${3:-64}
rounds=${4:-3}
pgbin=/usr/lib/postgresql/15/bin
if [ ! -x "$pgbin/pgbench" ]; then
  # Installs Debian's package (as root, or through sudo). Its install creates and starts a
  # default cluster (15/main, on localhost:5432): when the install made one, it is dropped
  # again, so that nothing of this is left listening.
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  had_main_cluster=no
  [ -d /etc/postgresql/15/main ] && had_main_cluster=yes
  echo "# installing postgresql-15 (Debian's package) for the comparison" >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
    postgresql-15 >/dev/null
  if [ "$had_main_cluster" = no ] && [ -d /etc/postgresql/15/main ]; then
    $sudo pg_dropcluster --stop 15 main
  fi
fi
# shellcheck source=bench/bench_lib.sh
source "$(dirname "$0")/bench_lib.sh"
make_work_dir triage-pg-compare

# PostgreSQL refuses to run as root: as the postgres user (the package creates it), in a
# directory of its own under /tmp, like the server's store.
pg=$(mktemp -d /tmp/triage-pg-XXXXXX)
as_pg=()
pg_started=""
stop_postgres() {
  if [ -n "$pg_started" ]; then
    "${as_pg[@]}" "$pgbin/pg_ctl" -D "$pg/data" -m fast -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$pg"
}
trap 'stop_postgres; cleanup_work_dir' EXIT
if [ "$(id -u)" -eq 0 ]; then
  chown postgres: "$pg"
  as_pg=(runuser -u postgres --)
fi

echo "# machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr), disk $(df -h "$work" | awk 'NR==2 {print $1}')"
echo "# date: $(date -u +%FT%TZ); $clients clients / in flight, ${seconds}s each"
fsync_rate=$("${as_pg[@]}" "$pgbin/pg_test_fsync" -f "$pg/fsync-test" -s 2 2>/dev/null \
  | awk '$1 == "fdatasync" && $3 == "ops/sec" {print $2; exit}')
echo "# disk: fdatasync ${fsync_rate:-?} ops/s (pg_test_fsync -s 2, one 8 kB write each)"

"${as_pg[@]}" "$pgbin/initdb" -D "$pg/data" -U bench --auth=trust -E UTF8 >/dev/null
pg_started=yes  # before the start: a start that times out may still leave it running
"${as_pg[@]}" "$pgbin/pg_ctl" -D "$pg/data" -w -l "$pg/log" \
  -o "-c listen_addresses='' -k $pg -c synchronous_commit=on -c fsync=on -c max_connections=$((clients + 10)) -c shared_buffers=256MB" \
  start >/dev/null
psql() { "${as_pg[@]}" "$pgbin/psql" -h "$pg" -U bench -q -v ON_ERROR_STOP=1 "$@"; }
psql -d postgres -c "CREATE DATABASE bench"
psql -d bench -c "CREATE TABLE reports (
  id bigserial PRIMARY KEY,
  request_id text NOT NULL UNIQUE,
  reporter_type int NOT NULL,
  priority int NOT NULL,
  queue text NOT NULL,
  received timestamptz NOT NULL DEFAULT now(),
  report bytea NOT NULL)"
# The report: random bytes (nothing compresses them) of the mean size of the synthetic
# submissions triage-loadgen sends.
report_bytes=$("$build/tools/triage-loadgen" --reports_summary \
  | sed -n 's/.*submission \([0-9]*\) bytes.*/\1/p')
cat > "$pg/insert.sql" <<SQL
INSERT INTO reports (request_id, reporter_type, priority, queue, report)
VALUES (gen_random_uuid()::text, 1 + :client_id % 4, 2, 'child', gen_random_bytes($report_bytes));
SQL
echo "# report: $report_bytes bytes a row (the mean synthetic submission)"
psql -d bench -c "CREATE EXTENSION pgcrypto"
chmod 644 "$pg/insert.sql"
export_intake_token "$build"
"$build/services/triage-server" --listen=127.0.0.1:0 --data_dir="$work/db" \
  --key_file="$work/key" --audit_key_file="$work/audit-key" \
  --credentials_file="$work/credentials" --insecure --rate_limit_per_second=0 \
  --metrics_listen= 2>"$work/server.log" &
server_pid=$!
wait_listening server
cpu_ticks() { awk '{print $14 + $15}' "/proc/$server_pid/stat"; }  # user + system, 1/100 s
hz=$(getconf CLK_TCK)
run() {  # loadgen flags; prints loadgen's line with the server's CPU per call; sets $rate
  local before line ok
  before=$(cpu_ticks)
  line=$("$build/tools/triage-loadgen" --server="$address" --baseline=false \
    --concurrency="$clients" \
    --requests=100000000 --max_duration="${seconds}s" "$@")
  ok=$(sed -n 's/.* ok=\([0-9]*\).*/\1/p' <<<"$line")
  rate=$(sed -n 's/.* rate_per_s=\([0-9]*\).*/\1/p' <<<"$line")
  echo "$line server_cpu_us_per_call=$(( ( $(cpu_ticks) - before) * 1000000 / hz / (ok > 0 ? ok : 1) ))"
}
ratios=()
for i in $(seq "$rounds"); do
  pg_tps=$("${as_pg[@]}" "$pgbin/pgbench" -h "$pg" -U bench -n -c "$clients" -j "$(nproc)" \
    -T "$seconds" -f "$pg/insert.sql" bench 2>/dev/null \
    | awk '/^tps = / {printf "%.0f", $3; exit}')
  echo "postgresql method=insert clients=$clients tps=$pg_tps (synchronous_commit=on)"
  run --method=health
  noop_rate=$rate
  run --method=submit --run_id="pg-compare-$$-$i"
  ratios+=("$(awk -v s="$rate" -v p="$pg_tps" -v n="$noop_rate" \
    'BEGIN {printf "%.2f %.2f", s / p, s / n}')")
  echo "round $i: submit/postgresql ${ratios[-1]% *}x submit/no-op ${ratios[-1]#* }x"
done
echo "rows in PostgreSQL: $(psql -d bench -At -c "SELECT count(*) FROM reports")"
stop_server
printf '%s\n' "${ratios[@]}" | sort -n -k1,1 | awk '{a[NR] = $1} END {m = a[int((NR + 1) / 2)]; printf "median submit/postgresql %.2fx\n", m}'
printf '%s\n' "${ratios[@]}" | sort -n -k2,2 | awk '{a[NR] = $2} END {m = a[int((NR + 1) / 2)]; printf "median submit/no-op %.2fx\n", m}'
