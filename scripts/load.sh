#!/usr/bin/env bash
# Load test: real sipp callers against a real `hotline serve`, on loopback only.
# Reports calls completed, failures, and the server's memory per concurrent call.
# Usage: scripts/load.sh [CONCURRENT] [TOTAL] [HOLD_MS]
set -euo pipefail
cd "$(dirname "$0")/.."
concurrent=${1:-200} total=${2:-600} hold=${3:-8000}
command -v sipp >/dev/null || { echo "load: sipp is not installed (make deps-test)"; exit 1; }
[ -x bin/hotline ] || make build >/dev/null
work=$(mktemp -d)
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -rf "$work"' EXIT
sip=127.0.0.1:25060 http=127.0.0.1:28080
cat > "$work/hotline.yaml" <<YAML
log: {level: warn}
sip: {addr: $sip, rtp_port_min: 30000, rtp_port_max: 40000}
http: {addr: $http}
flows: {dir: $work/flows, entry: load}
queues: [{name: support}]
YAML
mkdir -p "$work/flows"
cp testdata/flows/load.yaml "$work/flows/load.yaml"
./bin/hotline serve --config "$work/hotline.yaml" --data-dir "$work/data" >"$work/server.log" 2>&1 &
pid=$!
for _ in $(seq 50); do curl -sf "http://$http/healthz" >/dev/null && break; sleep 0.2; done
kill -0 $pid 2>/dev/null || { cat "$work/server.log"; exit 1; }
rss() { awk '/VmRSS/ {print $2}' /proc/$pid/status; }
cpu() { awk '{print $14+$15}' /proc/$pid/stat; }
base=$(rss); cpu0=$(cpu); t0=$(date +%s.%N)
( while kill -0 $pid 2>/dev/null; do r=$(rss); [ "$r" -gt "$(cat "$work/peak" 2>/dev/null || echo 0)" ] && echo "$r" > "$work/peak"; sleep 0.5; done ) &
sampler=$!
sipp -sf testdata/sipp/uac_hold.xml -s hotline -key caller 1000 -i 127.0.0.1 -p 25070 -mi 127.0.0.1 \
  -r 50 -m "$total" -l "$concurrent" -d "$hold" -nostdin -timeout 300s -timeout_error \
  -trace_stat -stf "$work/stat.csv" "$sip" >"$work/sipp.log" 2>&1 || true
t1=$(date +%s.%N); cpu1=$(cpu)
kill $sampler 2>/dev/null || true
peak=$(cat "$work/peak" 2>/dev/null || echo "$base")
ok=$(grep -E "Successful call" "$work/sipp.log" | tail -1 | awk -F'|' '{print $3}' | tr -d ' ')
failed=$(grep -E "Failed call" "$work/sipp.log" | tail -1 | awk -F'|' '{print $3}' | tr -d ' ')
hz=$(getconf CLK_TCK)
echo "load: $total calls, $concurrent at once, each ${hold} ms of paced music (RTP out, 50 packets/s)"
echo "  successful calls       ${ok:-?}"
echo "  failed calls           ${failed:-?}"
echo "  server RSS idle        $((base/1024)) MiB"
echo "  server RSS peak        $((peak/1024)) MiB"
echo "  memory per live call   $(( (peak-base) / concurrent )) KiB"
awk -v c="$((cpu1-cpu0))" -v hz="$hz" -v t0="$t0" -v t1="$t1" 'BEGIN { printf "  server CPU             %.1f s over %.1f s\n", c/hz, t1-t0 }'
[ "${failed:-1}" = 0 ]
