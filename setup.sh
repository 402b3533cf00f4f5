#!/usr/bin/env bash
# Zscope set-up for a fresh Debian 12 machine. Idempotent: packages already
# installed are not fetched again and the build is incremental (ccache).
#
#   ./setup.sh run    install, build, open the explorer on the shipped default model
#   ./setup.sh test   install, build, run the whole test suite
#   ./setup.sh build  install and build only
set -euo pipefail
cd "$(dirname "$0")"
mode="${1:-run}"
shift || true

PACKAGES=(build-essential cmake ninja-build ccache pkg-config
  libtorch-dev libopenblas0-openmp
  qt6-base-dev qt6-svg-dev libqcustomplot-dev libqcustomplot2.1-qt6
  nlohmann-json3-dev libpcre2-dev libsqlite3-dev zlib1g-dev
  libgloo-dev libgoogle-glog-dev libsentencepiece-dev libicu-dev
  xvfb xauth poppler-utils xz-utils)

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

BUILD_DIR="${ZSCOPE_BUILD_DIR:-build}"
JOBS="$(nproc)"
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release
fi
cmake --build "$BUILD_DIR" -j"$JOBS"

case "$mode" in
  run)
    if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
      echo "setup: no display found; starting the explorer under xvfb-run (set DISPLAY to see it)"
      exec xvfb-run -a "$BUILD_DIR/bin/zscope" "$@"
    fi
    exec "$BUILD_DIR/bin/zscope" "$@"
    ;;
  test)
    cd "$BUILD_DIR"
    QT_QPA_PLATFORM=offscreen ctest --output-on-failure -j"$JOBS" "$@"
    ;;
  build) ;;
  *)
    echo "usage: ./setup.sh [run|test|build]" >&2
    exit 2
    ;;
esac
