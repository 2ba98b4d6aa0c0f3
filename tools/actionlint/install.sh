#!/usr/bin/env bash
# Install the linter the scaffold tests run on every generated GitHub Actions workflow:
# actionlint, pinned, built with `go install` from the Go module proxy into tools/.bin/
# (gitignored); and shellcheck, which actionlint runs on each `run:` script, from Debian's
# packages when it is not on PATH already. Idempotent: does nothing when both are there.
# Fails loudly: the scaffold tests never skip when a linter is missing.
#
#   bash tools/actionlint/install.sh
set -euo pipefail

ACTIONLINT_VERSION=v1.7.12   # knows the inputs of actions/setup-node@v6, docker/build-push-action@v6, …

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BIN_DIR="$(dirname "$HERE")/.bin"

log() { printf '[actionlint] %s\n' "$*"; }
fail() { log "ERROR: $*"; exit 1; }

# --- actionlint ---------------------------------------------------------------------------
# `go version -m` reads the module version embedded in the binary: no stamp file needed.
actionlint_ok() {
  [[ -x "$BIN_DIR/actionlint" ]] &&
    go version -m "$BIN_DIR/actionlint" 2>/dev/null |
      grep -Eq "^[[:space:]]+mod[[:space:]]+github.com/rhysd/actionlint[[:space:]]+$ACTIONLINT_VERSION([[:space:]]|$)"
}
command -v go >/dev/null 2>&1 || fail "'go' not found on PATH: it builds actionlint (go install)"
if actionlint_ok; then
  log "actionlint $ACTIONLINT_VERSION already installed ($BIN_DIR/actionlint)"
else
  log "installing actionlint $ACTIONLINT_VERSION with go install ..."
  t0=$(date +%s)
  mkdir -p "$BIN_DIR"
  # CGO off: a static binary, no C toolchain needed. -buildvcs=false: we are not in its repo.
  GOBIN="$BIN_DIR" CGO_ENABLED=0 GOFLAGS="${GOFLAGS:-} -buildvcs=false" \
    go install "github.com/rhysd/actionlint/cmd/actionlint@$ACTIONLINT_VERSION" ||
    fail "go install github.com/rhysd/actionlint/cmd/actionlint@$ACTIONLINT_VERSION failed (see above)"
  actionlint_ok || fail "$BIN_DIR/actionlint is not $ACTIONLINT_VERSION after go install"
  log "actionlint $ACTIONLINT_VERSION installed in $(( $(date +%s) - t0 ))s"
fi

# --- shellcheck ---------------------------------------------------------------------------
# actionlint checks `run:` scripts only when shellcheck is on PATH; without it the check would
# silently shrink, so the tests require it and this installs it.
if command -v shellcheck >/dev/null 2>&1; then
  log "shellcheck already installed: $(shellcheck --version | sed -n 's/^version: //p')"
else
  command -v apt-get >/dev/null 2>&1 ||
    fail "shellcheck not found and no apt-get: install shellcheck so that it is on PATH"
  [[ "$(id -u)" == 0 ]] || fail "shellcheck not found: run as root (apt-get install -y shellcheck) or install it yourself"
  log "installing Debian's shellcheck with apt-get ..."
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq || fail "apt-get update failed (is the network or the apt proxy reachable?)"
  apt-get install -y -qq --no-install-recommends shellcheck ||
    fail "apt-get install shellcheck failed (see the lines above)"
  command -v shellcheck >/dev/null 2>&1 || fail "apt-get finished but shellcheck is still not on PATH"
  log "shellcheck $(shellcheck --version | sed -n 's/^version: //p') installed"
fi
