#!/usr/bin/env bash
# Call-rate ramp: the highest clean call rate of `hotline serve` beside `sipp -sn uas`, in the
# same run, each pinned to one core (taskset -c 0, GOMAXPROCS=1) with the sipp callers on the
# other. A call is answered, ACKed and hung up at once (testdata/sipp/uac_bye.xml); hotline runs
# the embedded sample configuration (SQLite, the shipped flows, contact records) with admission
# control off, every caller a new number, so every call also makes a customer.
# A rate is clean when no call failed, retransmissions are <= 0.1 % of the calls and
# INVITE->200 p99 <= 50 ms. The ramp stops at the first rate that is not clean.
# Prints per rate: calls, failed, retransmissions, INVITE->200 p50/p99/max, server CPU;
# then each clean rate and their ratio.
# Usage: scripts/rate.sh [SECONDS]
# Environment: RATES / BASE_RATES (the ramps), STORE (a postgres:// DSN: the store on PostgreSQL),
#              ONLY=hotline|baseline, PROFILE=FILE (a CPU profile of hotline at RATES' first rate),
#              KEEP=1 (keep the work directory).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
secs=${1:-10}
read -r -a rates <<<"${RATES:-250 500 750 1000 1250 1500 2000}"
read -r -a base_rates <<<"${BASE_RATES:-1000 2000 4000 6000 8000}"
command -v sipp >/dev/null || { echo "rate: sipp is not installed (make deps-test)"; exit 1; }
[ -x bin/hotline ] || make build >/dev/null
. scripts/bench-common.sh
sip=127.0.0.1:25260 http=127.0.0.1:28280 pprof=127.0.0.1:28281

# The embedded sample, admission limits off (this measures capacity, not admission), quiet log.
sed -e 's/^\(    \(max_calls\|max_pending\|invite_rate\|invite_burst\|source_invite_rate\|source_invite_burst\): *\)0 /\1off /' \
    -e 's/^\(  level: *\)info /\1warn /' config/hotline.sample.yaml >"$work/hotline.yaml"
if [ -n "${STORE:-}" ]; then
  sed -i "s|^\(  dsn: *\)\"\"|\1\"$STORE\"|" "$work/hotline.yaml"
fi

start_server() { # extra serve flags in "$@"
  "${pin_srv[@]}" env GOMAXPROCS=1 ./bin/hotline serve --config "$work/hotline.yaml" --data-dir "$work/data" "${serve_flags[@]}" \
    --sip-addr "$sip" --http-addr "$http" "$@" >"$work/server.log" 2>&1 &
  pid=$!
  for _ in $(seq 100); do curl -sf "http://$http/healthz" >/dev/null && return 0; sleep 0.1; done
  cat "$work/server.log"; exit 1
}
# stop_server stops hotline or the baseline sipp (not this shell's child: sipp -bg forks), and
# makes sure it is gone, so the next server finds the port free.
stop_server() {
  [ -n "$pid" ] || return 0
  kill $pid 2>/dev/null || true
  for _ in $(seq 30); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done
  kill -9 $pid 2>/dev/null || true
  wait $pid 2>/dev/null || true
  pid=
}
cpu() { [ -n "$pid" ] && awk '{print $14+$15}' /proc/$pid/stat || echo 0; }

# step NAME RATE: one rate for secs; sets $clean (1/0). Columns as in the header.
step() {
  local name=$1 rate=$2 d="$work/$1-$2" c0 c1
  mkdir -p "$d"; c0=$(cpu)
  (cd "$d" && "${pin_load[@]}" sipp -sf "$root/testdata/sipp/uac_bye.xml" -s hotline -key caller "+86139" \
    -i 127.0.0.1 -p 25270 -mi 127.0.0.1 -mp 26270 -r "$rate" -m $((rate * secs)) -l 100000 \
    -recv_timeout 8000 -timeout $((secs + 30))s -nostdin -trace_rtt -rtt_freq 1 \
    -trace_stat -fd 1 -stf stat.csv "$sip" >sipp.log 2>&1) || true
  c1=$(cpu)
  local total=$((rate * secs)) ok failed retrans
  ok=$(grep -E "Successful call" "$d/sipp.log" | tail -1 | awk -F'|' '{print $3}' | tr -d ' ')
  failed=$(grep -E "Failed call" "$d/sipp.log" | tail -1 | awk -F'|' '{print $3}' | tr -d ' ')
  # stat.csv: the last line's Retransmissions(C) column.
  retrans=$(awk -F';' 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "Retransmissions(C)") c = i } END { print $c + 0 }' "$d/stat.csv" 2>/dev/null || echo 0)
  local rtt; rtt=$(cat "$d"/*_rtt.csv 2>/dev/null | awk -F';' 'NR > 1 && $2 ~ /^[0-9.]+$/ {print $2}' | sort -n || true)
  pct() { echo "$rtt" | awk -v p="$1" 'NF { a[n++] = $1 } END { if (!n) { print "-"; exit } i = int(p * n / 100); if (i >= n) i = n - 1; printf "%.1f", a[i] }'; }
  local p99; p99=$(pct 99)
  local hz; hz=$(getconf CLK_TCK)
  printf "  %-9s %7s %8s %7s %8s %9s %9s %9s %10s\n" "$name" "$rate/s" "${ok:-0}" "${failed:-?}" "$retrans" \
    "$(pct 50)" "$p99" "$(pct 100)" "$(awk -v c=$((c1 - c0)) -v hz="$hz" -v s="$secs" 'BEGIN { printf "%.0f %%", 100 * c / hz / s }')"
  clean=0
  if [ "${failed:-1}" = 0 ] && [ "${ok:-0}" = "$total" ] && [ $((retrans * 1000)) -le "$total" ] && \
     awk -v p="$p99" 'BEGIN { exit !(p != "-" && p <= 50) }'; then clean=1; fi
}

ramp() { # NAME RATES...; prints the clean rate last, to fd 3
  local name=$1 best=0; shift
  for r in "$@"; do
    [ "$name" = hotline ] && start_server
    step "$name" "$r"
    [ "$name" = hotline ] && stop_server
    [ "$clean" = 1 ] || break
    best=$r
  done
  echo "$best" >&3
}

echo "rate: ${secs}s per rate; server pinned: ${pin_srv[*]:-no} GOMAXPROCS=1; sipp callers: ${pin_load[*]:-no}"
echo "      clean = 0 failed, retransmissions <= 0.1 %, INVITE->200 p99 <= 50 ms; store: ${STORE:-SQLite}"
printf "  %-9s %7s %8s %7s %8s %9s %9s %9s %10s\n" server rate answered failed retrans "p50 ms" "p99 ms" "max ms" "server CPU"
exec 3>"$work/clean"
if [ "${ONLY:-}" != hotline ]; then
  "${pin_srv[@]}" env sipp -sn uas -i 127.0.0.1 -p "${sip##*:}" -nostdin -bg >/dev/null 2>&1 || true
  sleep 0.5
  pid=$(pgrep -f "sipp -sn uas -i 127.0.0.1 -p ${sip##*:}" | head -1 || true)
  ramp baseline "${base_rates[@]}"
  stop_server
fi
if [ -n "${PROFILE:-}" ]; then
  start_server --pprof "$pprof"
  curl -sf -o "$PROFILE" "http://$pprof/debug/pprof/profile?seconds=$((secs - 2))" &
  cpid=$!
  step profile "${rates[0]}"
  wait $cpid || true
  stop_server
  echo "  CPU profile at ${rates[0]} calls/s: $PROFILE (go tool pprof -top bin/hotline $PROFILE)"
fi
[ "${ONLY:-}" != baseline ] && ramp hotline "${rates[@]}"
exec 3>&-
mapfile -t clean_rates <"$work/clean"
if [ ${#clean_rates[@]} -eq 2 ]; then
  echo "  clean rate: sipp -sn uas ${clean_rates[0]}/s, hotline ${clean_rates[1]}/s, ratio $(awk -v h="${clean_rates[1]}" -v b="${clean_rates[0]}" 'BEGIN { if (b > 0) printf "%.2f", h / b; else print "-" }')"
else
  echo "  clean rate: ${clean_rates[*]:-none}/s"
fi
