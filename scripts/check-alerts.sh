#!/usr/bin/env bash
# Checks Orchard's Prometheus alert rules with promtool: syntax and PromQL (`promtool check rules`), then the rules'
# unit tests (`promtool test rules`: each alert fires on a synthetic series). promtool comes with Debian's
# `prometheus` package; when it is missing it is installed if we are root (CI), else we stop and say so.
set -euo pipefail
cd "$(dirname "$0")/.."

rules=ops/prometheus/orchard-alerts.yml
tests=ops/prometheus/orchard-alerts.test.yml

if ! command -v promtool >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "promtool not found: installing Debian's prometheus package (for promtool)"
    # policy-rc.d exit 101: the package's service is not started by the install
    restore_policy=
    if [ ! -e /usr/sbin/policy-rc.d ]; then
      printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && restore_policy=1
    fi
    status=0
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends prometheus >/dev/null || status=$?
    if [ -n "$restore_policy" ]; then rm -f /usr/sbin/policy-rc.d; fi
    [ "$status" = 0 ] || { echo "apt-get install prometheus failed (exit $status)" >&2; exit 1; }
  else
    echo "promtool is not installed: install Debian's prometheus package (sudo apt-get install --no-install-recommends prometheus)" >&2
    echo "or put a promtool from https://prometheus.io/download/ on PATH, then run $0 again" >&2
    exit 1
  fi
fi

promtool --version 2>&1 | head -n1
promtool check rules "$rules"
if [ -f "$tests" ]; then promtool test rules "$tests"; fi
