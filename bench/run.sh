#!/bin/bash
# Benchmarks against a release build of bootsign_core.
#   bench/run.sh [sign]
# Uses the release build (bench/lib.sh), then builds each bench
# program with cc against libbootsign_core.a, and runs it in a private temp directory.
set -euo pipefail

# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
bench_build bootsign_core
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT

build_bench() { # NAME
	# shellcheck disable=SC2086
	cc -std=c17 -O2 -D_GNU_SOURCE -DOPENSSL_SUPPRESS_DEPRECATED -Wall -Wextra -Werror -Wno-format-truncation \
		-I"$ROOT/src" -o "$W/$1" "$ROOT/bench/$1.c" "$BUILD/libbootsign_core.a" $BENCH_CORE_LIBS
}

what=${1:-all}

# --- signing: bs_hab_sign vs raw RSA + SHA-256, peak memory ---------------------------
if [ "$what" = all ] || [ "$what" = sign ]; then
	build_bench bench_sign
	echo "== bench_sign ($(nproc) cores, $(openssl version))"
	mkdir "$W/sign"
	"$W/bench_sign" "$W/sign"
fi
