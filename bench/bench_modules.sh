#!/bin/bash
# Benchmark POST /sign/modules (release build) against what digsigserver does: run the
# kernel's scripts/sign-file once per module. Same RSA-2048 key, same modules, same run.
# Modules are random bytes (ELF magic in front) with sizes spread log-uniformly over
# 10..200 KiB; a tree of 3,000 is a full kernel's worth. Prints both times and the ratio,
# checks that every module the server signed is byte-identical to sign-file's, and prints
# the server's peak RSS for 300 and for 3,000 modules (it streams, so it should not grow
# with the tree).   Usage: bench/bench_modules.sh [N (default 3000)]
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
N=${1:-3000}
SMALL=$((N / 10))
SIGN_FILE=/usr/lib/linux-kbuild-6.1/scripts/sign-file
[ -x "$SIGN_FILE" ] || { echo "$SIGN_FILE missing (apt-get install linux-kbuild-6.1)" >&2; exit 1; }
bench_build bootsign
BIN=$BUILD/bootsign
W=$(mktemp -d)
PID=
trap 'if [ -n "$PID" ]; then kill "$PID" 2>/dev/null; wait "$PID" 2>/dev/null; fi; rm -rf "$W"' EXIT

mkdir -p "$W/keys/bench/kmodsign" "$W/spool" "$W/tmp"
openssl genpkey -quiet -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$W/key.pem"
openssl req -new -x509 -batch -days 3650 -subj "/CN=bench module key" -key "$W/key.pem" \
	-outform DER -out "$W/cert.der"
cp "$W/key.pem" "$W/keys/bench/kmodsign/kernel-signkey.priv"
cp "$W/cert.der" "$W/keys/bench/kmodsign/kernel-signkey.x509"

# tree/: N modules in directories of 100, plus a modules.dep; small/: the first SMALL.
python3 - "$W" "$N" "$SMALL" <<'PY'
import math, os, random, sys
w, n, small = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rnd = random.Random(5150)
total = 0
for tree, count in (("tree", n), ("small", small)):
    rel = "lib/modules/6.1.0-bench/kernel"
    dep = []
    for i in range(count):
        d = os.path.join(w, tree, rel, "d%02d" % (i // 100))
        os.makedirs(d, exist_ok=True)
        size = int(math.exp(rnd.uniform(math.log(10 << 10), math.log(200 << 10))))
        name = "m%04d.ko" % i
        with open(os.path.join(d, name), "wb") as f:
            f.write(b"\x7fELF\x02\x01\x01\x00" + os.urandom(size - 8))
        dep.append("kernel/d%02d/%s:" % (i // 100, name))
        if tree == "tree":
            total += size
    with open(os.path.join(w, tree, "lib/modules/6.1.0-bench/modules.dep"), "w") as f:
        f.write("\n".join(dep) + "\n")
print("generated %d modules, %.1f MiB" % (n, total / 2**20))
PY
tar -C "$W/tree" -cf - . | gzip -1 > "$W/tree.tar.gz"
tar -C "$W/small" -cf - . | gzip -1 > "$W/small.tar.gz"

now() { date +%s.%N; }
# sign_server ARCHIVE OUT: one request on a fresh server; sets SECS and RSS_KB (peak)
sign_server() {
	bench_start_server env TMPDIR="$W/tmp" "$BIN" serve --port 0 --keys "$W/keys" \
		--spool-dir "$W/spool"
	local t0 t1
	t0=$(now)
	curl --silent --show-error --fail-with-body -X POST -F machine=bench -F hashalg=sha512 \
		-F "artifact=@$1" -o "$2" "http://127.0.0.1:$PORT/sign/modules" ||
		{ echo "server: $(head -c 300 "$2")" >&2; exit 1; }
	t1=$(now)
	RSS_KB=$(sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$PID/status")
	# utime + stime of the server (fields 14, 15 after the command name), in seconds
	CPU=$(sed 's/.*) //' "/proc/$PID/stat" |
		awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($12 + $13) / hz }')
	bench_stop_server
	SECS=$(echo "$t1 - $t0" | bc -l)
}

echo "== bench_modules: $(nproc) CPUs, $(openssl version), RSA-2048, sha512"
sign_server "$W/small.tar.gz" "$W/small.signed.tar.gz"
printf '%-44s %8.2f s wall %6.2f s CPU   peak RSS %6d KiB\n' \
	"server, $SMALL modules (one request)" "$SECS" "$CPU" "$RSS_KB"
rss_small=$RSS_KB
sign_server "$W/tree.tar.gz" "$W/tree.signed.tar.gz"
printf '%-44s %8.2f s wall %6.2f s CPU   peak RSS %6d KiB\n' \
	"server, $N modules (one request)" "$SECS" "$CPU" "$RSS_KB"
server_secs=$SECS
server_cpu=$CPU

# digsigserver's way: sign-file once per module, in place (CPU: all the processes).
cp -a "$W/tree" "$W/ref"
/usr/bin/time -f '%e %U %S' -o "$W/loop.time" sh -c 'find "$1" -name "*.ko" -print0 |
	xargs -0 -n 1 "$2" sha512 "$3" "$4"' sh "$W/ref" "$SIGN_FILE" "$W/key.pem" "$W/cert.der"
read -r loop_secs lu ls < "$W/loop.time"
loop_cpu=$(echo "$lu + $ls" | bc -l)
printf '%-44s %8.2f s wall %6.2f s CPU\n' "sign-file once per module, $N modules" \
	"$loop_secs" "$loop_cpu"

# digsigserver's whole request also unpacks the upload and packs the answer: the same
# loop between `tar -xzf` and `tar -czf`, for reference.
mkdir -p "$W/ds"
/usr/bin/time -f '%e %U %S' -o "$W/ds.time" sh -c 'tar -C "$1" -xzf "$2" &&
	find "$1" -name "*.ko" -print0 | xargs -0 -n 1 "$3" sha512 "$4" "$5" &&
	tar -C "$1" -czf "$6" .' sh "$W/ds" "$W/tree.tar.gz" "$SIGN_FILE" "$W/key.pem" \
	"$W/cert.der" "$W/ds.tar.gz"
read -r ds_secs du ds < "$W/ds.time"
ds_cpu=$(echo "$du + $ds" | bc -l)
printf '%-44s %8.2f s wall %6.2f s CPU\n' "tar -xzf, sign-file per module, tar -czf" \
	"$ds_secs" "$ds_cpu"

# Every module the server signed equals sign-file's output.
mkdir -p "$W/out"
tar -C "$W/out" -xzf "$W/tree.signed.tar.gz"
diff -r -q "$W/ref" "$W/out" >/dev/null || { echo "MISMATCH: server output differs from sign-file's" >&2; exit 1; }
echo "all $N signed modules byte-identical to sign-file's"
printf 'speed-up (sign-file loop / server): %.1fx wall, %.1fx CPU (target >= 20x)\n' \
	"$(echo "$loop_secs / $server_secs" | bc -l)" "$(echo "$loop_cpu / $server_cpu" | bc -l)"
printf 'speed-up (unpack + sign-file loop + repack / server): %.1fx wall, %.1fx CPU\n' \
	"$(echo "$ds_secs / $server_secs" | bc -l)" "$(echo "$ds_cpu / $server_cpu" | bc -l)"
printf 'peak RSS %d KiB for %d modules vs %d KiB for %d modules\n' "$rss_small" "$SMALL" \
	"$RSS_KB" "$N"
