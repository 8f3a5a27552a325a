#!/usr/bin/env bash
# bts-desk developer entry point: sets everything up itself, then runs what you ask for.
#
#   ./dev.sh demo [bts-desk options]   the desk in demo mode (virtual card, emulated scanner,
#                                      camera stand-in, local sync service, generated data)
#   ./dev.sh test [pytest options]     lint (ruff), types (mypy --strict), translations, tests
#   ./dev.sh setup                     only the set-up: system packages, .venv, install
#
# Set-up is idempotent and quick when nothing changed: system packages are installed with
# apt-get only when one is missing (needs root or sudo), the virtual environment .venv is made
# once, and the project is reinstalled only when pyproject.toml or setup.py changed.
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")"

SYSTEM_PACKAGES=(
  python3 python3-venv python3-dev gcc swig           # venv; pyscard builds from source
  pcscd libpcsclite-dev vsmartcard-vpcd pcsc-tools    # PC/SC stack + virtual reader driver
  fonts-noto-cjk                                      # CJK glyphs for the Chinese UI
  libegl1 libgl1 libglib2.0-0 libfontconfig1 libdbus-1-3 libxkbcommon0 libxkbcommon-x11-0
  libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0
  libxcb-shape0 libxcb-randr0 libxcb-xinerama0 libxcb-xkb1   # Qt's xcb platform plugin
  postgresql                                          # throw-away clusters in the sync tests
  wixl msitools dpkg-dev fakeroot                     # MSI and .deb builds in the tests
  desktop-file-utils                                  # checks the .deb's desktop entry
  wine64                                              # installs the MSI for real (Wine's msiexec)
  xvfb xauth                                          # starts the installed .deb on a real X display
  chromium chromium-driver                            # the fleet console in a real browser (Selenium)
  opensc opensc-pkcs11 softhsm2                       # PKCS#11 card profile: OpenSC over vpcd, SoftHSM2 tokens
  libfprint-2-2 gir1.2-fprint-2.0                     # USB fingerprint readers (drivers/libfprint)
  libgirepository1.0-dev libcairo2-dev pkg-config gobject-introspection  # PyGObject builds
  visp-images-data                                    # face evaluation set: the 1927 Solvay group photo (tests/face_photos.py)
)

log() { printf '\033[1m[dev.sh]\033[0m %s\n' "$*" >&2; }

ensure_system_packages() {
  local missing=()
  for pkg in "${SYSTEM_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" \
      || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing system packages: ${missing[*]}"
  local sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -q
  "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
}

ensure_venv() {
  if [ ! -x .venv/bin/python ]; then
    log "creating .venv"
    python3 -m venv .venv
    .venv/bin/python -m pip install -q --upgrade pip wheel
  fi
  local stamp=.venv/.bts-desk-installed want
  want=$(cat pyproject.toml setup.py | sha256sum | cut -d' ' -f1)
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    log "installing bts-desk into .venv (editable, with dev and server extras)"
    .venv/bin/python -m pip install -q -e '.[dev,server]'
    echo "$want" > "$stamp"
  fi
  .venv/bin/python -m bts_desk.ui.i18n compile
}

run_tests() {
  export QT_QPA_PLATFORM=offscreen
  log "ruff"
  .venv/bin/ruff check .
  .venv/bin/ruff format --check .
  log "mypy --strict bts_desk drivers"
  .venv/bin/mypy bts_desk drivers
  log "pytest"
  local rc=0
  .venv/bin/python -m pytest "$@" || rc=$?
  if [ "$rc" -eq 5 ]; then
    log "pytest collected no tests: that is a failure of the suite, not a pass"
  fi
  return "$rc"
}

run_demo() {
  if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
    log "no display: running the demo walk-through offscreen, pictures go to ./demo-shots/"
    export QT_QPA_PLATFORM=offscreen
    exec .venv/bin/bts-desk --demo --tour demo-shots "$@"
  fi
  exec .venv/bin/bts-desk --demo "$@"
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case "$cmd" in
  setup) ensure_system_packages; ensure_venv ;;
  demo) ensure_system_packages; ensure_venv; run_demo "$@" ;;
  test) ensure_system_packages; ensure_venv; run_tests "$@" ;;
  *) echo "usage: ./dev.sh {demo|test|setup} [options]" >&2; exit 2 ;;
esac
