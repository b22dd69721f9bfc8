#!/usr/bin/env bash
# Installs the Debian packages hotline's run and tests need, only those missing.
# Usage: scripts/deps.sh run|test
set -euo pipefail
want=(espeak-ng:espeak-ng sox:sox)
if [ "${1:-run}" = test ]; then
  want+=(sipp:sip-tester baresip:baresip promtool:prometheus chromium:chromium gcc:gcc kamailio:kamailio systemd-analyze:systemd) # gcc: the race detector (cgo); kamailio, systemd-analyze: deploy/ checks its configs
  want+=(fail2ban-regex:fail2ban) # deploy/fail2ban/filter.d/hotline.conf is checked against the server's real log lines
fi
missing=()
for pair in "${want[@]}"; do
  bin=${pair%%:*} pkg=${pair#*:}
  command -v "$bin" >/dev/null 2>&1 || [ -x "/usr/sbin/$bin" ] || missing+=("$pkg")
done
# Packages without a command to look for: checked with dpkg.
if [ "${1:-run}" = test ]; then
  for pkg in fonts-wqy-microhei; do # CJK glyphs for the dashboard's Chinese screenshots
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
fi
[ ${#missing[@]} -eq 0 ] && exit 0
echo "deps: installing ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -ne 0 ] && sudo=sudo
if ! { $sudo apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null; }; then
  echo "deps: could not install ${missing[*]}" >&2
  exit 1
fi
