#!/usr/bin/env bash
# Build bootsign (release, then ASan+UBSan) and run the whole test suite (unit, e2e, fuzz
# corpus replay) on the sanitizer build.
# Installs missing Debian packages first. Usage: scripts/test.sh [ctest args...]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh test
# The release build (what scripts/run.sh runs) must compile warning-free at -O2 too.
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release -DBS_TESTS=OFF >/dev/null
cmake --build build/release -j"$(nproc)" >/dev/null
build=${BS_BUILD_DIR:-build/asan}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Debug -DBS_SANITIZE=ON >/dev/null
cmake --build "$build" -j"$(nproc)"
(cd "$build" && ctest --output-on-failure -j"$(nproc)" "$@")
# The Debian package: built offline, unpacked, unit checked with systemd-analyze, lintian
# (about a minute). BS_SKIP_DEB=1 skips it for quick local runs.
[ "${BS_SKIP_DEB:-0}" = 1 ] || tests/pkg/test_deb.sh
