#!/usr/bin/env bash
# Sets up this machine if needed (same set-up as ./run.sh, plus Chromium and docker-compose), then runs every test.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$root"
SETUP_TESTS=1 bash tools/setup.sh
log="$root/.local/test-output.log"
status=0
dotnet test Console.sln --no-build -nologo -v quiet --logger "console;verbosity=normal" "$@" 2>&1 | tee "$log" || status=$?
passed=$(awk '$1 == "Passed:" && $2 ~ /^[0-9]+$/ {s += $2} END {print s + 0}' "$log")
failed=$(awk '$1 == "Failed:" && $2 ~ /^[0-9]+$/ {s += $2} END {print s + 0}' "$log")
echo "tests: $passed passed, $failed failed"
exit "$status"
