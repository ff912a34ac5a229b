#!/usr/bin/env bash
# Installs the Debian 12 packages isolate needs to build, test and benchmark, if any is missing.
# Idempotent: does nothing (and needs no network) when everything is installed.
set -euo pipefail

packages=(
  cmake ninja-build g++ pkg-config
  libboost1.81-dev
  nlohmann-json3-dev libcli11-dev libsimdjson-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libseccomp-dev
  libcurl4-openssl-dev ca-certificates nginx-light openssl
  clang-format clang libclang-rt-14-dev
)
missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: run as root (or install these packages yourself)" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null
fi
