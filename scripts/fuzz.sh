#!/usr/bin/env bash
# The libFuzzer targets of tests/fuzz, built with Debian's clang-14 into BUILD_DIR/fuzz (a
# tree of their own; the main build stays GCC).
#
#   scripts/fuzz.sh build BUILD_DIR                   configure (once) and build
#   scripts/fuzz.sh smoke BUILD_DIR TARGET [SECONDS]  the seeds, then random inputs for
#                                                     SECONDS (15); what ctest runs
#   scripts/fuzz.sh long BUILD_DIR [SECONDS]          every target in turn for SECONDS (180)
#                                                     under nice, corpus kept in
#                                                     BUILD_DIR/fuzz/corpus/TARGET: `make fuzz`
#
# A run fails (exit 1) on a crash, a sanitizer report, a broken invariant, a timeout or
# running out of memory; the input is kept in BUILD_DIR/fuzz/artifacts/TARGET/. Reproduce
# with BUILD_DIR/fuzz/TARGET_fuzzer FILE. Each run gets its own temporary directory (in
# /dev/shm when there is one: the store targets write to a real RocksDB), removed after.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
targets=(submit_validation policy_parser key_decoding page_token json_import)

usage() {
  sed -n '2,16p' "${BASH_SOURCE[0]}" >&2
  exit 2
}

build() {
  local tree="$1/fuzz"
  if [ ! -f "$tree/CMakeCache.txt" ]; then
    cmake -S "$root/tests/fuzz" -B "$tree" -DCMAKE_CXX_COMPILER=clang++-14 >/dev/null
  fi
  MAKEFLAGS=--no-print-directory cmake --build "$tree" -j "$(nproc)"
}

# run TREE TARGET SECONDS CORPUS_DIR [libFuzzer flags...]: one libFuzzer run, checked.
run() {
  local tree="$1" target="$2" seconds="$3" corpus="$4"
  shift 4
  local binary="$tree/${target}_fuzzer" seeds="$root/tests/fuzz/corpus/$target"
  [ -x "$binary" ] || { echo "fuzz: $binary is not built (scripts/fuzz.sh build)" >&2; return 1; }
  [ -d "$seeds" ] || { echo "fuzz: no seeds in $seeds" >&2; return 1; }
  local artifacts="$tree/artifacts/$target"
  mkdir -p "$artifacts" "$corpus"
  local shm=/tmp
  [ -d /dev/shm ] && [ -w /dev/shm ] && shm=/dev/shm
  local scratch
  scratch="$(mktemp -d "$shm/triage-fuzz-$target.XXXXXX")"
  local log="$tree/$target.log"
  local status=0
  TMPDIR="$scratch" "$@" "$binary" -max_total_time="$seconds" -timeout=30 -rss_limit_mb=3072 \
    -print_final_stats=1 -artifact_prefix="$artifacts/" "$corpus" "$seeds" >"$log" 2>&1 ||
    status=$?
  rm -rf "$scratch"
  # Belt and braces: a report that did not stop the run still fails it.
  if [ "$status" -ne 0 ] ||
    grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|fuzz invariant broken' "$log"; then
    echo "fuzz: $target FAILED (exit $status); log $log, input in $artifacts/" >&2
    grep -E 'ERROR|runtime error|invariant|SUMMARY|Test unit written' "$log" | head -20 >&2
    return 1
  fi
  echo "fuzz: $target: $(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1)"
  grep -E '^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)' "$log" |
    tr '\n' ' '
  echo
}

command="${1:-}"
[ $# -ge 2 ] || usage
build_dir="$(cd "$2" 2>/dev/null && pwd || { mkdir -p "$2" && cd "$2" && pwd; })"
tree="$build_dir/fuzz"
case "$command" in
  build)
    build "$build_dir"
    ;;
  smoke)
    [ $# -ge 3 ] || usage
    # A fresh corpus each time: the test is the seeds plus what this run finds.
    work="$(mktemp -d "$tree/smoke-$3.XXXXXX")"
    trap 'rm -rf "$work"' EXIT
    run "$tree" "$3" "${4:-15}" "$work"
    ;;
  long)
    build "$build_dir"
    for target in "${targets[@]}"; do
      echo "fuzz: $target for ${3:-180} s, corpus $tree/corpus/$target"
      run "$tree" "$target" "${3:-180}" "$tree/corpus/$target" nice -n 10
    done
    ;;
  *)
    usage
    ;;
esac
