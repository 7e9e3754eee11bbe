#!/bin/bash
# Benchmark POST /sign/fitimage against mkimage -F on the same 64 MiB FIT (32 MiB kernel +
# 32 MiB initramfs, RSA-2048, control DTB, -r), same run, same key: wall time per
# signature (the server's includes the upload and the download over loopback), the ratio,
# and the server's peak RSS (target: FIT size + 16 MiB) and its RSS after the requests
# against its idle level (measured after one small request).
# Outputs are compared byte for byte.   Usage: bench/bench_fit.sh [ROUNDS]
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
bench_server_setup
rounds=${1:-3}
export SOURCE_DATE_EPOCH=1700000000

mkdir -p "$W/keys/imx/fitimagesign" "$W/mk" "$W/spool" "$W/src"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$W/mk/dev.key" 2>/dev/null
openssl req -batch -new -x509 -key "$W/mk/dev.key" -out "$W/mk/dev.crt" -subj /CN=dev 2>/dev/null
cp "$W/mk/dev.key" "$W/mk/dev.crt" "$W/keys/imx/fitimagesign/"
cd "$W/src"
head -c $((32 << 20)) /dev/urandom > kernel.bin
head -c $((32 << 20)) /dev/urandom > initramfs.bin
head -c 40000 /dev/urandom > fdt.bin
cat > big.its <<'ITS'
/dts-v1/;
/ {
	description = "bench FIT"; #address-cells = <1>;
	images {
		kernel-1 { data = /incbin/("kernel.bin"); type = "kernel"; arch = "arm64";
			os = "linux"; compression = "none"; load = <0x80000>; entry = <0x80000>;
			hash-1 { algo = "sha256"; }; };
		fdt-1 { data = /incbin/("fdt.bin"); type = "flat_dt"; arch = "arm64";
			compression = "none"; hash-1 { algo = "sha256"; }; };
		ramdisk-1 { data = /incbin/("initramfs.bin"); type = "ramdisk"; arch = "arm64";
			os = "linux"; compression = "none"; hash-1 { algo = "sha256"; }; };
	};
	configurations { default = "conf-1";
		conf-1 { kernel = "kernel-1"; fdt = "fdt-1"; ramdisk = "ramdisk-1";
			signature-1 { algo = "sha256,rsa2048"; key-name-hint = "dev";
				sign-images = "kernel", "fdt", "ramdisk"; }; }; };
};
ITS
mkimage -f big.its big.itb >/dev/null
sed 's/"kernel.bin"/"fdt.bin"/; s/"initramfs.bin"/"fdt.bin"/' big.its > small.its
mkimage -f small.its small.itb >/dev/null
printf '/dts-v1/;\n/ { model = "bench"; };\n' | dtc -I dts -O dtb -o u-boot.dtb - 2>/dev/null
fit_size=$(stat -c %s big.itb)

now() { date +%s.%N; }
min() { echo "if ($1 < $2) $1 else $2" | bc -l; }
mk_total=0 mk_min=999
for _ in $(seq "$rounds"); do
	cp big.itb m.itb
	cp u-boot.dtb m.dtb
	sync
	t0=$(now)
	taskset -c 0 mkimage -F -k "$W/mk" -K m.dtb -r m.itb >/dev/null
	t1=$(now)
	mk_total=$(echo "$mk_total + $t1 - $t0" | bc -l)
	mk_min=$(min "$mk_min" "$(echo "$t1 - $t0" | bc -l)")
done

bench_start_server taskset -c 0 "$BIN" serve --port 0 --keys "$W/keys" --spool-dir "$W/spool"
rss() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$PID/status"; } # kB
cold=$(rss VmRSS)
# The idle level is the server's after one small request (a 120 KiB FIT): the first
# request maps the signing code of libcrypto, libarchive and zlib in (file pages) and
# gives a connection thread its stack; the 64 MiB requests must come back to that.
taskset -c 1 curl --silent --fail -o small.out -X POST -F "artifact=@small.itb" \
	-F "dtb=@u-boot.dtb" "http://127.0.0.1:$PORT/sign/fitimage"
sleep 0.5
idle=$(rss VmRSS) idle_anon=$(rss RssAnon)
srv_total=0 srv_min=999
for _ in $(seq "$rounds"); do
	t0=$(now)
	taskset -c 1 curl --silent --fail -o out.tgz -X POST -F "artifact=@big.itb" \
		-F "dtb=@u-boot.dtb" -F mark_required=1 "http://127.0.0.1:$PORT/sign/fitimage"
	t1=$(now)
	srv_total=$(echo "$srv_total + $t1 - $t0" | bc -l)
	srv_min=$(min "$srv_min" "$(echo "$t1 - $t0" | bc -l)")
done
sleep 0.5
peak=$(rss VmHWM)
after=$(rss VmRSS) after_anon=$(rss RssAnon)
rm -rf o && mkdir o && tar -C o -xzf out.tgz
cmp o/fitImage m.itb && cmp o/u-boot.dtb m.dtb || { echo "outputs differ from mkimage" >&2; exit 1; }

mk=$(echo "$mk_total / $rounds" | bc -l)
srv=$(echo "$srv_total / $rounds" | bc -l)
limit=$(( fit_size / 1024 + 16 * 1024 ))
echo "== bench_fit: $(nproc) CPUs, $(openssl version), FIT $((fit_size >> 20)) MiB, $rounds rounds"
printf 'mkimage -F -K -r               mean %6.3f s, best %6.3f s per signature\n' "$mk" "$mk_min"
printf 'bootsign POST /sign/fitimage  mean %6.3f s, best %6.3f s (upload + download included)\n' \
	"$srv" "$srv_min"
printf 'speed-up                      mean %6.2fx, best %6.2fx (target >= 2x)\n' \
	"$(echo "$mk / $srv" | bc -l)" "$(echo "$mk_min / $srv_min" | bc -l)"
printf 'server RSS: at start %d KiB, idle (after one small FIT) %d KiB, peak %d KiB (limit FIT + 16 MiB = %d KiB: %s)\n' \
	"$cold" "$idle" "$peak" "$limit" "$([ "$peak" -le "$limit" ] && echo ok || echo OVER)"
printf 'server RSS after the 64 MiB requests: %d KiB (idle %d KiB: %+d KiB), heap and stacks (RssAnon) %d KiB (idle %d KiB: %+d KiB)\n' \
	"$after" "$idle" $((after - idle)) "$after_anon" "$idle_anon" $((after_anon - idle_anon))
kp=$(sed -n 's/.*key process \([0-9]*\) started.*/\1/p' "$W/server.log" | tail -n1)
if [ -n "$kp" ] && [ -r "/proc/$kp/status" ]; then
	printf 'key process (key_isolation = yes, the default; holds the keys, never the FIT): peak %d KiB, now %d KiB\n' \
		"$(awk '$1 == "VmHWM:" { print $2 }' "/proc/$kp/status")" \
		"$(awk '$1 == "VmRSS:" { print $2 }' "/proc/$kp/status")"
fi
echo "outputs identical to mkimage's"
