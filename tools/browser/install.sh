#!/usr/bin/env bash
# Install the headless browser the UI tests drive: Debian's own `chromium` package, from the
# distribution's apt repositories. Never a browser downloaded by a test tool (playwright-core is
# only the driver). Idempotent: does nothing when /usr/bin/chromium is already there. Needs root
# (as in CI containers); fails loudly otherwise.
#
#   bash tools/browser/install.sh
set -euo pipefail

CHROMIUM=/usr/bin/chromium

log() { printf '[browser] %s\n' "$*"; }
fail() { log "ERROR: $*"; exit 1; }

if [[ -x "$CHROMIUM" ]]; then
  log "chromium already installed: $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM")"
  exit 0
fi

command -v apt-get >/dev/null 2>&1 ||
  fail "apt-get not found: install your distribution's chromium so that $CHROMIUM exists"
[[ "$(id -u)" == 0 ]] ||
  fail "run as root (apt-get install -y chromium) or install chromium yourself first"

log "installing Debian's chromium with apt-get ..."
t0=$(date +%s)
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq || fail "apt-get update failed (is the network or the apt proxy reachable?)"
apt-get install -y -qq --no-install-recommends chromium ||
  fail "apt-get install chromium failed (see the lines above)"
[[ -x "$CHROMIUM" ]] || fail "apt-get finished but $CHROMIUM is still missing"
log "$("$CHROMIUM" --version 2>/dev/null || echo chromium) installed in $(( $(date +%s) - t0 ))s"
