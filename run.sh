#!/usr/bin/env bash
# Sets up this machine if needed, then runs the whole console locally:
# PostgreSQL (.local/postgres), the embedded Kafka-protocol broker, Console.Ingest, Console.Web and the simulator.
# Ctrl+C stops everything.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$root"
web_url="${ORDERFLOW_WEB_URL:-http://127.0.0.1:5080}"
ingest_url="${ORDERFLOW_INGEST_URL:-http://127.0.0.1:5081}"
export CONFIGURATION="${CONFIGURATION:-Debug}"   # CONFIGURATION=Release ./run.sh: Release builds (benchmarks against this stack)
# ORDERFLOW_SIMULATOR=off ./run.sh: no simulated services (a benchmark that brings its own traffic; docs/benchmarks.md)
simulator="${ORDERFLOW_SIMULATOR:-on}"
case "$simulator" in on|off) ;; *) echo "[run] ORDERFLOW_SIMULATOR must be on or off, not '$simulator'" >&2; exit 2 ;; esac
bin="bin/$CONFIGURATION/net10.0"

bash tools/setup.sh

pids=()
cleanup() {
  trap - INT TERM EXIT
  echo
  echo "[run] stopping…"
  # The broker (started first) stops last: a Kafka client closing while its broker is gone waits for it.
  local clients=("${pids[@]:1}")
  for pid in "${clients[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${clients[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ "${#pids[@]}" -gt 0 ]; then kill -TERM "${pids[0]}" 2>/dev/null || true; wait "${pids[0]}" 2>/dev/null || true; fi
  bash tools/postgres.sh stop
  echo "[run] stopped."
}
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM
trap cleanup EXIT

bash tools/postgres.sh start
export ConnectionStrings__ReadModel="$(bash tools/postgres.sh url)"

bootstrap_file="$root/.local/kafka.bootstrap"
rm -f "$bootstrap_file"
(cd tools/EmbeddedKafka && exec dotnet "$bin/Console.EmbeddedKafka.dll" --bootstrap-file "$bootstrap_file") &
pids+=($!)
for _ in $(seq 100); do [ -s "$bootstrap_file" ] && break; sleep 0.1; done
[ -s "$bootstrap_file" ] || { echo "[run] the embedded Kafka broker did not start" >&2; exit 1; }
export Kafka__BootstrapServers="$(cat "$bootstrap_file")"
export DOTNET_ENVIRONMENT=Development ASPNETCORE_ENVIRONMENT=Development

(cd Console.Ingest && exec dotnet "$bin/Console.Ingest.dll" --urls "$ingest_url") &
pids+=($!)
(cd Console.Web && Console__IngestUrl="$ingest_url" exec dotnet "$bin/Console.Web.dll" --urls "$web_url") &
pids+=($!)
if [ "$simulator" = on ]; then
  (cd tools/Simulator && exec dotnet "$bin/Console.Simulator.dll") &
  pids+=($!)
else
  echo "[run] ORDERFLOW_SIMULATOR=off: no simulated services; only what you publish flows"
fi

for _ in $(seq 300); do curl -sf "$web_url/health" >/dev/null 2>&1 && break; sleep 0.2; done
cat <<MSG

  Order Flow Console   $web_url
  Kafka bootstrap      $Kafka__BootstrapServers   (topic order-ops, key = OrderId; try: kcat -b $Kafka__BootstrapServers -L)
  PostgreSQL           $ConnectionStrings__ReadModel
  Health               $web_url/health   $ingest_url/health

  Ctrl+C stops everything.

MSG
wait -n "${pids[@]}" || true
echo "[run] a process exited; stopping the rest" >&2
exit 1
