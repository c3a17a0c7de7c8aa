#!/usr/bin/env bash
# Ingest throughput benchmark (docs/benchmarks.md): tools/benchmark.sh [events, default 200000]
# Needs the set-up of ./test.sh (PostgreSQL binaries, librdkafka). Run on an otherwise idle machine.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
SETUP_SKIP_BUILD=1 bash tools/setup.sh
dotnet build tools/Benchmarks -c Release -nologo -v quiet -clp:ErrorsOnly
dotnet tools/Benchmarks/bin/Release/net10.0/Console.Benchmarks.dll "${1:-200000}" 2>/dev/null | grep -v '^\['
