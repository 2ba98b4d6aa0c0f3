#!/usr/bin/env bash
# Installs everything the tests need that is not an npm package of the workspace: each
# tools/<name>/install.sh (emulators, browser, linters), in name order. Each is pinned and
# idempotent, so running this again is quick.
set -euo pipefail
cd "$(dirname "$0")"
for script in */install.sh; do
  bash "$script"
done
