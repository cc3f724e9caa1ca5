#!/usr/bin/env bash
# Benchmarks against real peers on this machine, in one run. Installs Debian's nginx and wrk when
# missing. Targets are loopback only. Results: bench/results/*.md (copied into docs/benchmarks.md).
set -euo pipefail
cd "$(dirname "$0")/.."
missing=()
command -v nginx >/dev/null || missing+=(nginx-light)
command -v wrk >/dev/null || missing+=(wrk)
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
mkdir -p bench/results
node=node_modules/.bin/node
"$node" bench/http.ts --duration "${DURATION:-3}" --rounds "${ROUNDS:-9}" --out bench/results/http.md "$@"
"$node" bench/charts.ts --in bench/results/http.md --out docs/benchmarks-http.svg
"$node" bench/module_cost.ts --out bench/results/module_cost.md
