#!/usr/bin/env bash
# Renders an evidence report (`bucketward report --format html`) to a PNG with headless
# Chromium, to check its layout the way a browser shows it.
#
#   scripts/render-report.sh FILE.html OUT.png
#
# Installs Chromium with apt-get when it is missing (it is not on a fresh machine, and is not
# needed by `make test`); run it explicitly. The page is opened from disk with every network
# feature off: the report is self-contained, so nothing should be fetched.
#
# Env: REPORT_WINDOW (default 1280,2000), CHROMIUM (a browser binary to use instead).
set -euo pipefail

log() { echo "render-report: $*" >&2; }

if [[ $# -ne 2 ]]; then
  echo "usage: $0 FILE.html OUT.png" >&2
  exit 2
fi
html="$1"
out="$2"
window="${REPORT_WINDOW:-1280,2000}"

if [[ ! -f "$html" ]]; then
  log "no such file: $html"
  exit 2
fi
html_abs="$(cd "$(dirname "$html")" && pwd)/$(basename "$html")"
out_abs="$(cd "$(dirname "$out")" && pwd)/$(basename "$out")"

find_browser() {
  local candidate
  for candidate in "${CHROMIUM:-}" chromium chromium-browser google-chrome; do
    if [[ -n "$candidate" ]] && command -v "$candidate" >/dev/null 2>&1; then
      command -v "$candidate"
      return 0
    fi
  done
  return 1
}

if ! browser="$(find_browser)"; then
  log "Chromium is not installed; installing it with apt-get"
  if ! command -v apt-get >/dev/null 2>&1; then
    log "no apt-get on this machine: install Chromium and set CHROMIUM=/path/to/it"
    exit 1
  fi
  sudo=()
  if [[ "$(id -u)" -ne 0 ]]; then
    sudo=(sudo)
  fi
  "${sudo[@]}" apt-get update
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y chromium
  browser="$(find_browser)" || { log "Chromium still not found after installing it"; exit 1; }
fi

profile="$(mktemp -d)"
trap 'rm -rf "$profile"' EXIT
rm -f "$out_abs"

log "rendering $html_abs with $browser"
"$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --user-data-dir="$profile" --hide-scrollbars \
  --screenshot="$out_abs" --window-size="$window" "file://$html_abs" >&2

if [[ ! -s "$out_abs" ]]; then
  log "no screenshot was written to $out_abs"
  exit 1
fi
log "wrote $out_abs"
