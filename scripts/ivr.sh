#!/usr/bin/env bash
# IVR benchmark: calls at RATE calls/s for SECONDS to a short menu (testdata/flows/ivr-load.yaml):
# hotline says a prompt, callgen (internal/cmd/callgen) presses 1 as RFC 4733 events 500 ms
# after the prompt's first packet, hotline says goodbye and hangs up; callgen answers the BYE.
# Every call sends a tone both ways throughout. The server runs on one core (taskset -c 0,
# GOMAXPROCS=1), callgen on the other; admission control is off (this measures capacity).
# Prompt spacing counts only between packets that are consecutive frames (sequence +1, RTP
# timestamp +160, no marker bit): hotline sends nothing between prompts, so that silence is
# not a gap, while a stall inside a prompt is.
# Prints callgen's report, server CPU and whether the targets of issue 15 hold: 0 failed,
# retransmissions <= 0.1 % of the calls, no prompt gap > 40 ms, <= 64 KiB of server RSS per
# live call. A miss prints "target missed: ..." and still exits 0: this is a measurement.
# Usage: scripts/ivr.sh [RATE] [SECONDS]   (default 400 calls/s for 10 s)
# Environment: KEEP=1 (keep the work directory).
set -euo pipefail
cd "$(dirname "$0")/.."
rate=${1:-400} secs=${2:-10}
[ -x bin/hotline ] || make build >/dev/null
${GO:-go} build -o bin/callgen ./internal/cmd/callgen
. scripts/bench-common.sh
sip=127.0.0.1:25460 http=127.0.0.1:28480
mkdir -p "$work/flows"
cp testdata/flows/ivr-load.yaml "$work/flows/ivr-load.yaml"
cat > "$work/hotline.yaml" <<YAML
log: {level: warn}
sip: {addr: $sip, rtp_port_min: 30000, rtp_port_max: 39998, limits: $limits_off}
http: {addr: $http}
flows: {dir: $work/flows, entry: ivr-load}
queues: [{name: support}]
YAML

"${pin_srv[@]}" env GOMAXPROCS=1 ./bin/hotline serve --config "$work/hotline.yaml" --data-dir "$work/data" "${serve_flags[@]}" >"$work/server.log" 2>&1 &
pid=$!
for _ in $(seq 100); do curl -sf "http://$http/healthz" >/dev/null && break; sleep 0.1; done
kill -0 $pid 2>/dev/null || { cat "$work/server.log"; exit 1; }
# One call first, outside the figures: it renders the say: prompts (espeak-ng) into the cache.
./bin/callgen -mode ivr -server "$sip" -service ivr-load -calls 1 -rate 1 -rtp-ports 50000-50998 >/dev/null
"${pin_load[@]}" ./bin/callgen -mode ivr -server "$sip" -service ivr-load -calls $((rate * secs)) -rate "$rate" \
  -rtp-ports 40000-49998 -pid "$pid" -env "$work/result.env" -csv "$work/calls.csv"
# shellcheck source=/dev/null
. "$work/result.env"
missed=()
[ "$failed" -eq 0 ] || missed+=("$failed calls failed (want none)")
[ $((retrans * 1000)) -le "$calls" ] || missed+=("$retrans retransmissions in $calls calls (want <= 0.1 %)")
[ "$gaps" -eq 0 ] || missed+=("$gaps prompt gaps > 40 ms (want none)")
awk -v k="$kib_per_call" 'BEGIN { exit !(k > 0 && k <= 64) }' || missed+=("$kib_per_call KiB of server RSS per live call (want <= 64)")
[ "$other_cpu_pct" -le 10 ] || echo "  (other processes used $other_cpu_pct % of a core during the run: the figures may be bent)"
if [ ${#missed[@]} -eq 0 ]; then
  echo "ivr: targets hold at $rate calls/s (0 failed, retransmissions <= 0.1 %, no prompt gap > 40 ms, <= 64 KiB per call)"
else
  printf "ivr: target missed at $rate calls/s: %s\n" "${missed[@]}"
fi
