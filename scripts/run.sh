#!/usr/bin/env bash
# Build bootsign (release) and start the signing server. With no configuration it creates
# a demo key store on first start and prints how to use it. Extra arguments go to
# `bootsign serve`. Usage: scripts/run.sh [--port 9999] [--address 127.0.0.1] ...
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh build
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release -DBS_TESTS=OFF >/dev/null
cmake --build build/release -j"$(nproc)" >/dev/null
exec build/release/bootsign serve "$@"
