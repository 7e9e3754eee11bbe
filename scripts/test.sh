#!/usr/bin/env bash
# Build bootsign with ASan+UBSan and run the whole test suite (unit, e2e, fuzz replay).
# Installs missing Debian packages first. Usage: scripts/test.sh [ctest args...]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh test
build=${BS_BUILD_DIR:-build/asan}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Debug -DBS_SANITIZE=ON >/dev/null
cmake --build "$build" -j"$(nproc)"
cd "$build"
ctest --output-on-failure -j"$(nproc)" "$@"
