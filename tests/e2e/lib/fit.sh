# Helpers for the FIT e2e tests (sourced after server_common.sh): test keys, FITs built with
# dtc + mkimage -f from .its files, mkimage -F as the byte-for-byte oracle, the independent
# verifier (fit_verify.py) and tampered copies it must reject.
# Expects T (temp dir) and BS_SRCDIR. Keys: $T/mk (mkimage's key dir) and the server's
# store $T/keys/imx/fitimagesign.

FITV="python3 $BS_SRCDIR/tests/e2e/lib/fit_verify.py"
export SOURCE_DATE_EPOCH=1700000000

command -v mkimage >/dev/null && command -v dtc >/dev/null ||
	fail "mkimage/dtc missing (scripts/deps.sh test installs u-boot-tools, device-tree-compiler)"

# fit_inputs KERNEL_BYTES RAMDISK_BYTES: image files for fit_its and a control DTB
# (u-boot.dtb) in the current directory.
fit_inputs() {
	{ printf 'KERNELDATA'; head -c "$1" /dev/urandom; } > kernel.bin
	head -c 2000 /dev/urandom > fdt.bin
	head -c "$2" /dev/urandom > ramdisk.bin
	printf '/dts-v1/;\n/ { model = "bootsign test board"; compatible = "bs,test"; };\n' |
		dtc -I dts -O dtb -o u-boot.dtb - 2>/dev/null
}

# fit_key NAME: the fixture key NAME (tests/fixtures/fit: dev rsa2048, k3 rsa3072, prod
# rsa4096, ec256, ec384) with its certificate in both key dirs (mkimage reads ECDSA keys
# from NAME.pem).
fit_key() {
	local d=$T/keys/imx/fitimagesign
	mkdir -p "$d" "$T/mk"
	cp "$BS_FIXTURES/fit/$1.key" "$BS_FIXTURES/fit/$1.crt" "$T/mk/"
	cp "$T/mk/$1.key" "$T/mk/$1.pem"
	cp "$T/mk/$1.key" "$T/mk/$1.crt" "$d/"
}

# fit_its OUT.its HINT ALGO [EXTRA-SIG-PROPS]: kernel + fdt + ramdisk, two configurations
# (one signing kernel+fdt, one all three), image signature on the ramdisk.
fit_its() {
	local out=$1 hint=$2 algo=$3 extra=${4:-}
	cat > "$out" <<ITS
/dts-v1/;
/ {
	description = "bootsign test FIT";
	#address-cells = <1>;
	images {
		kernel-1 {
			description = "kernel"; data = /incbin/("kernel.bin");
			type = "kernel"; arch = "arm64"; os = "linux"; compression = "none";
			load = <0x80000>; entry = <0x80000>;
			hash-1 { algo = "sha256"; };
			hash-2 { algo = "crc32"; };
		};
		fdt-1 {
			description = "fdt"; data = /incbin/("fdt.bin");
			type = "flat_dt"; arch = "arm64"; compression = "none";
			hash-1 { algo = "sha512"; };
		};
		ramdisk-1 {
			description = "initramfs"; data = /incbin/("ramdisk.bin");
			type = "ramdisk"; arch = "arm64"; os = "linux"; compression = "none";
			hash-1 { algo = "sha1"; };
			signature-1 { algo = "$algo"; key-name-hint = "$hint"; $extra };
		};
	};
	configurations {
		default = "conf-1";
		conf-1 {
			description = "kernel and fdt";
			kernel = "kernel-1"; fdt = "fdt-1";
			signature-1 { algo = "$algo"; key-name-hint = "$hint"; $extra };
		};
		conf-2 {
			description = "with initramfs";
			kernel = "kernel-1"; fdt = "fdt-1"; ramdisk = "ramdisk-1";
			signature-1 { algo = "$algo"; key-name-hint = "$hint";
				sign-images = "kernel", "fdt", "ramdisk"; $extra };
		};
	};
};
ITS
}

# fit_build DIR ITS OUT [mkimage-args...]: the unsigned FIT (hashes filled, no keys).
fit_build() {
	local dir=$1 its=$2 out=$3
	shift 3
	(cd "$dir" && mkimage "$@" -f "$its" "$out" >/dev/null) || fail "mkimage -f $its"
}

# fit_oracle IN OUT DTB_IN DTB_OUT -- [mkimage-args]: mkimage -F on copies (DTB "" = none).
fit_oracle() {
	local in=$1 out=$2 dtb_in=$3 dtb_out=$4
	shift 4
	[ "${1:-}" = -- ] && shift
	cp "$in" "$out"
	local k=()
	if [ -n "$dtb_in" ]; then
		cp "$dtb_in" "$dtb_out"
		k=(-K "$dtb_out")
	fi
	mkimage -F -k "$T/mk" "${k[@]}" "$@" "$out" >/dev/null || fail "mkimage -F $*"
}

# fit_verify_all FIT DTB: accepted, and three tampered copies rejected (a data byte, a
# hash value, a configuration property).
fit_verify_all() {
	local fit=$1 dtb=$2 w
	w=$(mktemp -d "$T/v.XXXX")
	$FITV "$fit" "$dtb" || fail "independent verifier rejected $fit"
	python3 - "$fit" "$w" <<'PY'
import sys
b = open(sys.argv[1], "rb").read()
w = sys.argv[2]
def put(name, data):
    open(w + "/" + name, "wb").write(data)
i = b.index(b"KERNELDATA")                  # a byte of the kernel image data
put("data.itb", b[:i] + b"X" + b[i + 1:])
j = b.index(b"kernel and fdt")              # a property of conf-1
put("conf.itb", b[:j] + b"kernel AND fdt" + b[j + 14:])
PY
	# the fdt image changed and its hash value made to match: only the signature can tell
	python3 - "$fit" "$w" "$T/src/fdt.bin" <<'PY'
import hashlib, sys
b = open(sys.argv[1], "rb").read()
fdt = open(sys.argv[3], "rb").read()
new = bytes([fdt[0] ^ 0xFF]) + fdt[1:]  # always differs ("Y" did not when fdt.bin began with Y)
i = b.index(fdt)
b = b[:i] + new + b[i + len(fdt):]
h = hashlib.sha512(fdt).digest()
j = b.index(h)
b = b[:j] + hashlib.sha512(new).digest() + b[j + len(h):]
open(sys.argv[2] + "/hash.itb", "wb").write(b)
PY
	$FITV --reject "$dtb" "$w/data.itb" "$w/conf.itb" "$w/hash.itb" ||
		fail "a tampered copy of $fit verified"
}

# fit_srv_done: the server is healthy, its spool empty, its log free of PINs and of the
# fixture keys; then it stops.
fit_srv_done() {
	srv_healthy
	srv_spool_empty
	srv_log_clean
	local k
	for k in "$BS_FIXTURES"/fit/*.key; do
		! grep -qF -- "$(sed -n 2p "$k")" "$SRV_LOG" || srv_fail "server log contains $k material"
	done
	srv_stop
}
