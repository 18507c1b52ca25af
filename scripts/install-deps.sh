#!/usr/bin/env bash
# Installs the Debian 12 packages the project builds and tests with. Idempotent:
# does nothing (and needs no network) when every package is already installed.
set -euo pipefail

packages=(
  build-essential cmake ccache pkg-config
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libabsl-dev librocksdb-dev libgtest-dev libgmock-dev libbenchmark-dev libssl-dev
  golang-github-gogo-googleapis-dev libcli11-dev prometheus-cpp-dev
  python3-grpcio python3-protobuf python3-yaml systemd openssl libgoogle-perftools-dev
  clang-14 libclang-rt-14-dev  # the libFuzzer targets (tests/fuzz): clang, libFuzzer, sanitizers
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
