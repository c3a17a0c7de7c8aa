#!/usr/bin/env bash
# Prepares this machine to build, run and test the console. Idempotent: a second run only checks.
#   - Debian packages: PostgreSQL 15 server, native build deps for librdkafka, Chromium (tests), kcat
#   - librdkafka 2.15.1 as a local NuGet package, only where NuGet does not serve librdkafka.redist
#   - the Blazor script fallback switch, only where NuGet does not serve the .NET 10 Blazor assets
#   - dotnet build of Console.sln
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
local_dir="$root/.local"
feed="$root/tools/nuget-feed"
mkdir -p "$local_dir" "$feed"

log() { printf '\033[1;34m[setup]\033[0m %s\n' "$*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# ---- Debian packages -------------------------------------------------------------------------
need_pkgs=()
want_pkgs=(postgresql-15 build-essential libssl-dev zlib1g-dev libzstd-dev liblz4-dev kcat python3 curl ca-certificates)
# Test-only: Chromium for the browser tests, docker-compose to validate docker-compose.yml offline.
if [ "${SETUP_TESTS:-0}" = 1 ]; then want_pkgs+=(chromium docker-compose); fi
for p in "${want_pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need_pkgs+=("$p")
done
if [ ${#need_pkgs[@]} -gt 0 ]; then
  log "installing Debian packages: ${need_pkgs[*]}"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
fi

command -v dotnet >/dev/null || { echo "setup: the .NET 10 SDK is required (dotnet not on PATH)." >&2; exit 1; }

# ---- librdkafka 2.15.1 -----------------------------------------------------------------------
rdk_version=2.15.1
served() { curl -sf "https://api.nuget.org/v3-flatcontainer/$1/index.json" | grep -q "\"$2\""; }
if [ -f "$feed/librdkafka.redist.$rdk_version.nupkg" ]; then
  :
elif served librdkafka.redist "$rdk_version"; then
  log "NuGet serves librdkafka.redist $rdk_version: using it"
else
  log "NuGet lacks librdkafka.redist $rdk_version: building it from the sources npm ships (about a minute)"
  build="$local_dir/librdkafka-build"
  rm -rf "$build" && mkdir -p "$build"
  (cd "$build" && npm pack --silent @confluentinc/kafka-javascript@1.10.1 >/dev/null && tar xzf confluentinc-kafka-javascript-1.10.1.tgz)
  src="$build/package/deps/librdkafka"
  (cd "$src" && ./configure --disable-gssapi --disable-curl >"$build/configure.log" 2>&1 \
     && make -j"$(nproc)" libs >"$build/make.log" 2>&1) \
     || { echo "setup: librdkafka build failed, see $build/configure.log and $build/make.log" >&2; exit 1; }
  grep -q "\"$rdk_version\"" "$src/src/rdkafka.h" 2>/dev/null || grep -q "RD_KAFKA_VERSION  *0x020f01" "$src/src/rdkafka.h" \
     || { echo "setup: the npm package did not carry librdkafka $rdk_version" >&2; exit 1; }
  strip -o "$build/librdkafka.so" "$src/src/librdkafka.so.1"
  python3 "$root/tools/pack-librdkafka.py" "$build/librdkafka.so" "$rdk_version" "$feed/librdkafka.redist.$rdk_version.nupkg"
  # A package of the same id/version cached earlier would shadow the new one.
  rm -rf "${NUGET_PACKAGES:-$HOME/.nuget/packages}/librdkafka.redist/$rdk_version"
  log "packed $feed/librdkafka.redist.$rdk_version.nupkg"
fi

# ---- Blazor script (.NET 10 blazor.web.js) ---------------------------------------------------
props="$local_dir/machine.props"
if curl -sf "https://api.nuget.org/v3-flatcontainer/microsoft.aspnetcore.app.internal.assets/index.json" | grep -q '"10\.'; then
  fallback=false
else
  fallback=true
fi
cat >"$props.tmp" <<EOF
<Project>
  <!-- Written by tools/setup.sh for this machine. -->
  <PropertyGroup>
    <BlazorScriptFallback>$fallback</BlazorScriptFallback>
  </PropertyGroup>
</Project>
EOF
cmp -s "$props.tmp" "$props" 2>/dev/null && rm "$props.tmp" || mv "$props.tmp" "$props"

# ---- build -----------------------------------------------------------------------------------
if [ "${SETUP_SKIP_BUILD:-0}" != 1 ]; then
  log "building Console.sln"
  dotnet build "$root/Console.sln" -c "${CONFIGURATION:-Debug}" -nologo -v quiet -clp:ErrorsOnly
fi
