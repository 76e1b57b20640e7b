#!/usr/bin/env bash
# install-deps: installs every Debian package backstop needs to build, test and benchmark.
# Idempotent and non-interactive; skips apt entirely when everything is already present.
set -euo pipefail

packages=(
  build-essential cmake pkg-config clang-16 libclang-rt-16-dev clang-format clang-tidy
  libasio-dev libssl-dev libtomlplusplus-dev libcli11-dev libspdlog-dev libfmt-dev
  nlohmann-json3-dev libsqlite3-dev libhiredis-dev libc-ares-dev libgtest-dev libgmock-dev libbenchmark-dev libyaml-cpp-dev libsystemd-dev libcpp-httplib-dev libmimalloc-dev libjs-chart.js
  swaks libnet-ssleay-perl postfix dnsmasq-base redis-server redis-tools openssl sqlite3 python3 python3-pytest procps iproute2 util-linux linux-perf
  prometheus chromium
  rbldnsd nsd
  haproxy
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
# Postfix is used only as a test peer and benchmark reference: never as a system MTA.
echo "postfix postfix/main_mailer_type select No configuration" | $SUDO debconf-set-selections
# Keep package scripts from starting daemons (redis, postfix, rbldnsd, nsd, haproxy) here.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
  $SUDO chmod +x /usr/sbin/policy-rc.d
  remove_policy=1
fi
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
if [ "${remove_policy:-0}" = 1 ]; then
  $SUDO rm -f /usr/sbin/policy-rc.d
fi
