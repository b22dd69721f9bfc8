#!/usr/bin/env bash
# Flood benchmark: admission control under a flood, against a real `hotline serve` on loopback.
# The server runs on one core (taskset -c 0, GOMAXPROCS=1), sipp on the other. One source
# (127.0.0.2) floods INVITEs, then REGISTERs, then OPTIONS at FLOOD_RATE (default 1500/s: 10x
# the clean call rate of one core, about 150 calls/s) while a second source (127.0.0.3) calls at
# 10/s, stays HOLD_MS on hold music and hangs up. A run without flood comes first as the
# baseline. Each run gets a fresh server, so its peak RSS is its own.
# Prints per run: legit answered %, INVITE->200 p50/p99, flood refused %, peak RSS.
# Usage: scripts/flood.sh [SECONDS] [FLOOD_RATE] [HOLD_MS]
#        scripts/flood.sh capacity [SECONDS] [RATES...]
# ADMISSION=off runs the floods with every limit off: the "before" picture.
# capacity measures the clean call rate instead, for sizing sip.limits: admission control off,
# no flood, legitimate calls at each rate in turn (default 50 100 150 200 300 400 calls/s).
set -euo pipefail
capacity=
if [ "${1:-}" = capacity ]; then capacity=1; shift; fi
cd "$(dirname "$0")/.."
root=$PWD
secs=${1:-15} flood_rate=${2:-1500} hold=${3:-1000}
legit_rate=10
if [ -n "$capacity" ]; then
  secs=${1:-10}; shift || true
  rates=("$@"); [ ${#rates[@]} -gt 0 ] || rates=(50 100 150 200 300 400)
  hold=1000
fi
command -v sipp >/dev/null || { echo "flood: sipp is not installed (make deps-test)"; exit 1; }
[ -x bin/hotline ] || make build >/dev/null
. scripts/bench-common.sh
sip=127.0.0.1:25160 http=127.0.0.1:28180
mkdir -p "$work/flows"
cat > "$work/hotline.yaml" <<YAML
log: {level: warn}
sip: {addr: $sip, rtp_port_min: 30000, rtp_port_max: 40000}
http: {addr: $http}
flows: {dir: $work/flows, entry: load}
queues: [{name: support}]
agents: [{id: "1001", name: Flood Target, password: not-guessed-9f2c, queues: [support]}]
YAML
if [ -n "$capacity" ] || [ "${ADMISSION:-}" = off ]; then
  sed -i "s/^sip: {\(.*\)}$/sip: {\1, limits: $limits_off}/" "$work/hotline.yaml"
fi
cp testdata/flows/load.yaml "$work/flows/load.yaml"

start_server() {
  "${pin_srv[@]}" env GOMAXPROCS=1 ./bin/hotline serve --config "$work/hotline.yaml" --data-dir "$work/data" "${serve_flags[@]}" >"$work/server.log" 2>&1 &
  pid=$!
  for _ in $(seq 100); do curl -sf "http://$http/healthz" >/dev/null && break; sleep 0.1; done
  kill -0 $pid 2>/dev/null || { cat "$work/server.log"; exit 1; }
}
stop_server() { kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; pid=; }
metric() { # sum of a counter's samples whose labels match $2
  curl -sf "http://$http/metrics" | awk -v m="$1" -v l="$2" 'index($0, m"{") == 1 && index($0, l) { s += $NF } END { printf "%d", s }'
}

# run NAME [FLOOD_SCENARIO]
run() {
  local name=$1 flood=${2:-} d="$work/$1"
  mkdir -p "$d"
  start_server
  local refused0; refused0=$(metric hotline_sip_admission_refused_total "")
  echo 0 >"$d/peak"
  ( while kill -0 $pid 2>/dev/null; do r=$(awk '/VmRSS/ {print $2}' /proc/$pid/status 2>/dev/null || echo 0)
      [ "${r:-0}" -gt "$(cat "$d/peak")" ] && echo "$r" >"$d/peak"; sleep 0.2; done ) &
  local sampler=$! fpid=
  if [ -n "$flood" ]; then
    (cd "$d" && "${pin_load[@]}" sipp -sf "$root/testdata/sipp/$flood" \
      -s hotline -key caller 1001 -i 127.0.0.2 -p 25172 -mi 127.0.0.2 -mp 26172 \
      -r "$flood_rate" -m $((flood_rate * secs)) -l 100000 -recv_timeout 5000 -timeout $((secs + 20))s \
      -nostdin "$sip" >"$d/flood.log" 2>&1) &
    fpid=$!
    sleep 1 # the flood is on before the first legitimate call
  fi
  (cd "$d" && "${pin_load[@]}" sipp -sf "$root/testdata/sipp/uac_hold.xml" -s hotline -key caller 1000 \
    -i 127.0.0.3 -p 25174 -mi 127.0.0.3 -mp 26174 -r $legit_rate -m $((legit_rate * secs)) -d "$hold" \
    -recv_timeout 10000 -timeout $((secs + 30))s -nostdin -trace_rtt -rtt_freq 1 \
    -trace_stat -stf stat.csv "$sip" >"$d/legit.log" 2>&1) || true
  [ -n "$fpid" ] && { wait "$fpid" || true; }
  local refused; refused=$(( $(metric hotline_sip_admission_refused_total "") - refused0 ))
  kill $sampler 2>/dev/null || true
  wait $sampler 2>/dev/null || true
  stop_server
  local total=$((legit_rate * secs)) ok
  ok=$(grep -E "Successful call" "$d/legit.log" | tail -1 | awk -F'|' '{print $3}' | tr -d ' ')
  # sipp's RTT file: Date_ms;response_time_ms;rtd_no, one line per answered call.
  local rtt; rtt=$(cat "$d"/*_rtt.csv 2>/dev/null | awk -F';' 'NR > 1 && $2 ~ /^[0-9.]+$/ {print $2}' | sort -n || true)
  pct() { echo "$rtt" | awk -v p="$1" 'NF { a[n++] = $1 } END { if (!n) { print "-"; exit } i = int(p * n / 100); if (i >= n) i = n - 1; printf "%.0f ms", a[i] }'; }
  local sent="-" refpct="-"
  if [ -n "$flood" ]; then
    sent=$(grep -E "OutGoing call created|Outgoing calls created" "$d/flood.log" | tail -1 | awk -F'|' '{print $3}' | tr -d ' ')
    [ -z "$sent" ] && sent=$((flood_rate * secs))
    refpct=$(awk -v r="$refused" -v s="$sent" 'BEGIN { if (s > 0) printf "%.1f %%", 100 * r / s; else print "-" }')
  fi
  printf "  %-16s %8s %9s %9s %11s %12s %11s %9s\n" "$name" \
    "$(awk -v o="${ok:-0}" -v t="$total" 'BEGIN { printf "%.1f %%", 100 * o / t }')" "$(pct 50)" "$(pct 99)" \
    "$sent" "$refused" "$refpct" "$(( $(cat "$d/peak") / 1024 )) MiB"
  [ -n "$capacity" ] && return 0
  # The targets (issue 14): >= 99 % of legitimate calls answered, INVITE->200 p99 <= 200 ms,
  # the flood mostly (>= 90 %) refused.
  local p99; p99=$(echo "$rtt" | awk 'NF { a[n++] = $1 } END { if (!n) { print 999999; exit } i = int(99 * n / 100); if (i >= n) i = n - 1; print int(a[i]) }')
  if [ $(( ${ok:-0} * 100 )) -lt $((total * 99)) ]; then
    missed+=("$name: ${ok:-0} of $total legitimate calls answered (want >= 99 %)"); tail -20 "$d/legit.log" | sed 's/^/    legit: /'
  fi
  [ "$p99" -le 200 ] || missed+=("$name: INVITE->200 p99 ${p99} ms (want <= 200 ms)")
  if [ -n "$flood" ] && [ $((refused * 10)) -lt $((sent * 9)) ]; then missed+=("$name: $refused of $sent flood requests refused (want >= 90 %)"); fi
  return 0
}
missed=()

if [ -n "$capacity" ]; then
  echo "capacity: ${secs}s per rate; admission control off; calls hold ${hold} ms; server pinned: ${pin_srv[*]:-no} GOMAXPROCS=1"
  printf "  %-16s %8s %9s %9s %11s %12s %11s %9s\n" "calls/s" answered p50 p99 "" "" "" "peak RSS"
  for legit_rate in "${rates[@]}"; do run "$legit_rate"; done
  exit 0
fi
echo "flood: ${secs}s per run; legit 127.0.0.3 at ${legit_rate} calls/s holding ${hold} ms; flood 127.0.0.2 at ${flood_rate}/s"
echo "       server pinned: ${pin_srv[*]:-no} GOMAXPROCS=1; sipp: ${pin_load[*]:-no}"
printf "  %-16s %8s %9s %9s %11s %12s %11s %9s\n" run answered p50 p99 "flood sent" "503 refused" "refused %" "peak RSS"
run baseline
run invite-flood flood_invite.xml
run register-flood flood_register.xml
run options-flood flood_options.xml
if [ ${#missed[@]} -gt 0 ]; then printf 'flood: target missed: %s\n' "${missed[@]}"; exit 1; fi
