#!/usr/bin/env bash
# Prepares this machine to build, run and test the console. Idempotent: a second run only checks.
#   - Debian packages: PostgreSQL 15 server, native build deps for librdkafka, Chromium (tests), kcat
#   - librdkafka 2.15.1: the official librdkafka.redist, or a self-built package where NuGet does not serve it or it
#     does not load (ORDERFLOW_LIBRDKAFKA=source forces the self-built one)
#   - dotnet build of Console.sln, then a check that librdkafka loads and a mock cluster starts
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

# ---- librdkafka -------------------------------------------------------------------------------
# ORDERFLOW_LIBRDKAFKA=auto (default): the official librdkafka.redist where NuGet serves it and it loads here, else
# built from source; =nuget: the official package only; =source: always the self-built package.
# The self-built package has its own version (2.15.1.1-selfbuilt): it never shadows the official one, nor the reverse.
rdk_version=2.15.1
rdk_selfbuilt="$rdk_version.1-selfbuilt"
rdk_mode="${ORDERFLOW_LIBRDKAFKA:-auto}"
case "$rdk_mode" in auto|nuget|source) ;; *) echo "setup: ORDERFLOW_LIBRDKAFKA must be auto, nuget or source (got '$rdk_mode')." >&2; exit 1;; esac
packages="${NUGET_PACKAGES:-$HOME/.nuget/packages}"
props="$local_dir/machine.props"
served() { curl -sf "https://api.nuget.org/v3-flatcontainer/$1/index.json" | grep -q "\"$2\""; }

# A package an earlier set-up packed under the official id and version would shadow the official one on this machine.
if [ -d "$packages/librdkafka.redist/$rdk_version" ] && [ ! -e "$packages/librdkafka.redist/$rdk_version/runtimes/linux-x64/native/centos8-librdkafka.so" ]; then
  log "removing a self-built librdkafka.redist $rdk_version from $packages (it would shadow the official package)"
  rm -rf "$packages/librdkafka.redist/$rdk_version"
fi
rm -f "$feed/librdkafka.redist.$rdk_version.nupkg"

build_librdkafka() {
  [ -f "$feed/librdkafka.redist.$rdk_selfbuilt.nupkg" ] && return 0
  log "building librdkafka $rdk_version from the sources npm ships (about a minute)"
  local build="$local_dir/librdkafka-build"
  rm -rf "$build" && mkdir -p "$build"
  (cd "$build" && npm pack --silent @confluentinc/kafka-javascript@1.10.1 >/dev/null && tar xzf confluentinc-kafka-javascript-1.10.1.tgz)
  local src="$build/package/deps/librdkafka"
  (cd "$src" && ./configure --disable-gssapi --disable-curl >"$build/configure.log" 2>&1 \
     && make -j"$(nproc)" libs >"$build/make.log" 2>&1) \
     || { echo "setup: librdkafka build failed, see $build/configure.log and $build/make.log" >&2; exit 1; }
  grep -q "RD_KAFKA_VERSION  *0x020f01" "$src/src/rdkafka.h" \
     || { echo "setup: the npm package did not carry librdkafka $rdk_version" >&2; exit 1; }
  strip -o "$build/librdkafka.so" "$src/src/librdkafka.so.1"
  python3 "$root/tools/pack-librdkafka.py" "$build/librdkafka.so" "$rdk_selfbuilt" "$feed/librdkafka.redist.$rdk_selfbuilt.nupkg"
  rm -rf "$packages/librdkafka.redist/$rdk_selfbuilt"
  log "packed $feed/librdkafka.redist.$rdk_selfbuilt.nupkg"
}

write_machine_props() {
  if [ "$rdk_package" = "$rdk_selfbuilt" ]; then build_librdkafka; fi
  printf '%s\n' '<Project>' '  <!-- Written by tools/setup.sh for this machine. -->' '  <PropertyGroup>' \
    "    <LibrdkafkaRedistVersion>$rdk_package</LibrdkafkaRedistVersion>" '  </PropertyGroup>' '</Project>' >"$props.tmp"
  if cmp -s "$props.tmp" "$props"; then rm "$props.tmp"; else mv "$props.tmp" "$props"; fi
  if [ "$rdk_package" = "$rdk_version" ]; then log "librdkafka: the official librdkafka.redist $rdk_version from NuGet"
  else log "librdkafka: the self-built librdkafka.redist $rdk_selfbuilt"; fi
}

if [ "$rdk_mode" = source ]; then
  rdk_package="$rdk_selfbuilt"
elif served librdkafka.redist "$rdk_version"; then
  rdk_package="$rdk_version"
elif [ "$rdk_mode" = nuget ]; then
  echo "setup: NuGet does not serve librdkafka.redist $rdk_version (ORDERFLOW_LIBRDKAFKA=nuget); unset it to build librdkafka from source." >&2; exit 1
else
  rdk_package="$rdk_selfbuilt"
fi
write_machine_props

# ---- build -----------------------------------------------------------------------------------
if [ "${SETUP_SKIP_BUILD:-0}" != 1 ]; then
  log "building Console.sln"
  dotnet build "$root/Console.sln" -c "${CONFIGURATION:-Debug}" -nologo -v quiet -clp:ErrorsOnly
  # Proves librdkafka loads (the file Confluent.Kafka picks) and a mock cluster starts, before any app needs it.
  check() { dotnet "$root/tools/EmbeddedKafka/bin/${CONFIGURATION:-Debug}/net10.0/Console.EmbeddedKafka.dll" --check 2>&1; }
  if ! out="$(check)"; then
    if [ "$rdk_mode" = auto ] && [ "$rdk_package" = "$rdk_version" ]; then
      log "the official librdkafka.redist does not load here ($out)"
      rdk_package="$rdk_selfbuilt"
      write_machine_props
      dotnet build "$root/Console.sln" -c "${CONFIGURATION:-Debug}" -nologo -v quiet -clp:ErrorsOnly
      out="$(check)" || { echo "setup: $out" >&2; exit 1; }
    else
      echo "setup: $out" >&2; exit 1
    fi
  fi
  log "$out"
fi
