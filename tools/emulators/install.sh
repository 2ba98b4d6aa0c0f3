#!/usr/bin/env bash
# Install the three storage emulators used by the tests, at pinned versions, from the
# package registries only (PyPI, Go module proxy, npm). Idempotent: each step is skipped when
# the pinned version is already there. Safe with CI=true and no stdin.
#
#   bash tools/emulators/install.sh
#
# Where things go:
#   moto (S3)             -> the current python3's site-packages (pip), run as `python3 tools/emulators/moto-server.py`
#   fake-gcs-server (GCS) -> tools/emulators/.bin/fake-gcs-server      (go install, gitignored)
#   Azurite (Azure blob)  -> tools/emulators/.azurite/node_modules/... (npm --prefix, gitignored;
#                            deliberately NOT a dependency of any workspace package.json)
#
# Why these versions: see README.md (each one verified for conditional-write behaviour).
set -euo pipefail

MOTO_VERSION=5.2.1            # If-None-Match:* / If-Match on PutObject -> 412 (added in moto 5.0.x)
FAKE_GCS_VERSION=v1.56.1      # ifGenerationMatch honoured on media, multipart AND resumable uploads
AZURITE_VERSION=3.35.0        # newest Azurite whose engines allow Node 20 (3.36+ require Node >= 21/22)

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BIN_DIR="$HERE/.bin"
AZURITE_DIR="$HERE/.azurite"
PYTHON="${MOTO_PYTHON:-python3}"  # same variable start.mjs reads

log() { printf '[emulators] %s\n' "$*"; }
need() { command -v "$1" >/dev/null 2>&1 || { log "ERROR: '$1' not found on PATH ($2)"; exit 1; }; }
elapsed() { echo "$(( $(date +%s) - $1 ))s"; }

need "$PYTHON" "needed for moto"
need go "needed to build fake-gcs-server"
need node "needed to run Azurite"
need npm "needed to install Azurite"

# --- moto (S3) ----------------------------------------------------------------------------
# The `server` extra pulls flask + flask-cors, which moto_server needs on top of plain moto.
moto_ok() {
  "$PYTHON" - "$MOTO_VERSION" <<'EOF' >/dev/null 2>&1
import sys, importlib.metadata as md
import flask, flask_cors, moto.server  # server extra present and importable
sys.exit(0 if md.version("moto") == sys.argv[1] else 1)
EOF
}
if moto_ok; then
  log "moto $MOTO_VERSION already installed ($("$PYTHON" -c 'import sys; print(sys.executable)'))"
else
  log "installing moto[server]==$MOTO_VERSION with pip ..."
  t0=$(date +%s)
  # PIP_BREAK_SYSTEM_PACKAGES: harmless for pyenv/venv pythons, needed for Debian's system python.
  PIP_BREAK_SYSTEM_PACKAGES=1 "$PYTHON" -m pip install --quiet --no-input --disable-pip-version-check \
    "moto[server]==$MOTO_VERSION"
  moto_ok || { log "ERROR: moto $MOTO_VERSION still not importable after pip install"; exit 1; }
  log "moto $MOTO_VERSION installed in $(elapsed "$t0")"
fi

# --- fake-gcs-server (GCS) ----------------------------------------------------------------
# `go version -m` reads the module version embedded in the binary: no stamp file needed.
gcs_ok() {
  [[ -x "$BIN_DIR/fake-gcs-server" ]] &&
    go version -m "$BIN_DIR/fake-gcs-server" 2>/dev/null |
      grep -Eq "^[[:space:]]+mod[[:space:]]+github.com/fsouza/fake-gcs-server[[:space:]]+$FAKE_GCS_VERSION([[:space:]]|$)"
}
if gcs_ok; then
  log "fake-gcs-server $FAKE_GCS_VERSION already installed ($BIN_DIR/fake-gcs-server)"
else
  log "installing fake-gcs-server $FAKE_GCS_VERSION with go install (takes ~2 min on 2 cores) ..."
  t0=$(date +%s)
  mkdir -p "$BIN_DIR"
  # CGO off: pure-Go static binary, no C toolchain needed. -buildvcs=false: we are not in its repo.
  GOBIN="$BIN_DIR" CGO_ENABLED=0 GOFLAGS="${GOFLAGS:-} -buildvcs=false" \
    go install "github.com/fsouza/fake-gcs-server@$FAKE_GCS_VERSION"
  gcs_ok || { log "ERROR: $BIN_DIR/fake-gcs-server is not $FAKE_GCS_VERSION after go install"; exit 1; }
  log "fake-gcs-server $FAKE_GCS_VERSION installed in $(elapsed "$t0")"
fi

# --- Azurite (Azure Blob) -----------------------------------------------------------------
azurite_ok() {
  [[ -f "$AZURITE_DIR/node_modules/azurite/dist/src/blob/main.js" ]] &&
    [[ "$(node -p "require('$AZURITE_DIR/node_modules/azurite/package.json').version" 2>/dev/null)" == "$AZURITE_VERSION" ]]
}
if azurite_ok; then
  log "azurite $AZURITE_VERSION already installed ($AZURITE_DIR)"
else
  log "installing azurite@$AZURITE_VERSION with npm into $AZURITE_DIR ..."
  t0=$(date +%s)
  mkdir -p "$AZURITE_DIR"
  # --prefix keeps it out of the pnpm workspace; --no-save writes no package.json/lockfile.
  npm install --prefix "$AZURITE_DIR" --no-save --no-audit --no-fund --loglevel=error \
    --ignore-scripts "azurite@$AZURITE_VERSION"
  azurite_ok || { log "ERROR: azurite $AZURITE_VERSION not found in $AZURITE_DIR after npm install"; exit 1; }
  log "azurite $AZURITE_VERSION installed in $(elapsed "$t0")"
fi

log "done: moto $MOTO_VERSION, fake-gcs-server $FAKE_GCS_VERSION, azurite $AZURITE_VERSION"
