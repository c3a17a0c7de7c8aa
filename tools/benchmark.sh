#!/usr/bin/env bash
# Benchmarks (docs/benchmarks.md). Sets the machine up like ./test.sh (PostgreSQL binaries, librdkafka, Chromium). Run on an otherwise idle machine.
#   tools/benchmark.sh [events]                          ingest throughput (default 200000 events; BENCH_ROUNDS=3 ideal/ingest pairs, median ratio)
#   tools/benchmark.sh breach [orders] [due/s] [window s]  breach-detection delay (default 1000000 orders, 300/s, 45 s)
#   tools/benchmark.sh catchup [events/s] [partitions]     catch-up after a 5-minute backlog (default 2000 events/s, 24 partitions)
#   tools/benchmark.sh discovered [events...]                 the discovered flow's query (/workflow) at 1 and 10 million events
#   tools/benchmark.sh latency <web url> <bootstrap> [probes] [pages]  event→screen latency, memory and CPU per page against ./run.sh's stack
#                                                          (LATENCY_LOAD=6000: background load; then run the stack with ORDERFLOW_SIMULATOR=off, decision 0027;
#                                                          LATENCY_TRACE=<dir>: each probe's timestamps as CSV, to split at the write;
#                                                          LATENCY_LOAD_NICE=19: the load from its own process at that niceness)
#   tools/benchmark.sh pages <web url> [counts] [seconds]  CPU, connections, heap and liveness of N open pages against ./run.sh's stack
#                                                          (PAGES_PER_TAB=20: twenty pages as frames of one tab, for 200 pages on a small machine)
#   tools/benchmark.sh search [requests] [generate]       order search per filter at 1,000,000 orders (database search_bench on
#                                                          tools/postgres.sh's server, ORDERFLOW_PG_PORT; generated once, then reused)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
SETUP_SKIP_BUILD=1 SETUP_TESTS=1 bash tools/setup.sh   # Chromium for latency and pages
dotnet build tools/Benchmarks -c Release -nologo -v quiet -clp:ErrorsOnly
case "${1:-}" in
  search) tools/postgres.sh start ;;&
  pages)
    dotnet tool install --tool-path .local/tools dotnet-gcdump >/dev/null 2>&1 || test -x .local/tools/dotnet-gcdump
    export GCDUMP="$root/.local/tools/dotnet-gcdump" ;;&
  breach|catchup|latency|discovered|pages|search)
    # The apps' log lines start with '['; everything else, errors included, is shown, and a failure is the exit status.
    uptime; status=0
    dotnet tools/Benchmarks/bin/Release/net10.0/Console.Benchmarks.dll "$@" 2>&1 | grep --line-buffered -av '^\[' || status=$?
    uptime; exit "$status" ;;
esac
dotnet tools/Benchmarks/bin/Release/net10.0/Console.Benchmarks.dll "${1:-200000}" 2>&1 | grep -av '^\['
