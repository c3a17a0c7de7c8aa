#!/usr/bin/env bash
# Sets up this machine if needed (same set-up as ./run.sh, plus Chromium), then runs every test.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$root"
SETUP_TESTS=1 bash tools/setup.sh
dotnet test Console.sln --no-build -nologo -v quiet --logger "console;verbosity=normal" "$@"
