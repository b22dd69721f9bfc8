# Sourced by the bench scripts (rate.sh, ivr.sh, streams.sh, flood.sh), from the repository root.
# Pins the server to core 0 and the load generator to core 1 when there are two cores, makes
# the run's work directory and, on exit, stops the server ($pid) and removes the directory
# (KEEP=1 keeps it). limits_off is sip.limits with every admission limit off: these runs
# measure capacity, not admission. SERVE_FLAGS adds flags to hotline serve, such as
# SERVE_FLAGS="--pprof 127.0.0.1:6060" to profile a run while it goes.
pin_srv=() pin_load=()
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then pin_srv=(taskset -c 0) pin_load=(taskset -c 1); fi
work=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; wait 2>/dev/null; [ -n "${KEEP:-}" ] && echo "kept $work" || rm -rf "$work"' EXIT
# shellcheck disable=SC2034 # used by the scripts that source this
limits_off='{max_calls: off, max_pending: off, invite_rate: off, source_invite_rate: off, register_rate: off, source_register_rate: off, options_rate: off, source_options_rate: off}'
# shellcheck disable=SC2034,SC2206 # used by the scripts that source this; split on purpose
serve_flags=(${SERVE_FLAGS:-})
