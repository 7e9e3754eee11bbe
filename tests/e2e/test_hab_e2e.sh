#!/bin/bash
# HAB4 end to end: an independent PKI (openssl CLI + srktool), an image with an IVT, a
# CSF signed by `bootsign hab sign` (CST-compatible directory mode and --keys bundle),
# checked by `bootsign hab verify` AND independently by csf_parser and `openssl cms
# -verify` over the exact signed bytes; then tampering of every signed/chained part must
# make `hab verify` fail naming the right check. Finally `bootsign pki create` -> sign ->
# verify, with its SRK table compared to srktool's.
set -euo pipefail

: "${BS_BIN:?}" "${BS_SRCDIR:?}"
. "$BS_SRCDIR/tests/e2e/lib/hab4.sh"
. "$BS_SRCDIR/tests/e2e/lib/common.sh"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
KEYTYPES=${BS_E2E_KEYTYPES:-"rsa2048 rsa4096 p256"}


# insert CSFBLOB IMAGE OUT: the image with the CSF at the IVT's CSF offset
insert_csf() {
	local n
	n=$(stat -c %s "$1")
	[ "$n" -le $((HAB4_SIZE - HAB4_CSF)) ] || fail "CSF of $n bytes does not fit"
	cp "$2" "$3"
	dd if="$1" of="$3" bs=1 seek=$HAB4_CSF conv=notrunc status=none
}

# oracle_check CSFBLOB SIGNED_IMAGE CSFK_CERT IMG_CERT: csf_parser + openssl cms
oracle_check() {
	local csf=$1 img=$2 w o
	w=$(mktemp -d "$T/oracle.XXXXXX")
	(cd "$w" && csf_parser -c "$csf" > parser.log 2>&1) || fail "csf_parser failed on $csf"
	[ -s "$w/output/SRKTable.bin" ] || fail "csf_parser found no SRK table"
	cmp -s "$w/output/cert0.der" <(openssl x509 -in "$3" -outform DER) ||
		fail "csf_parser: CSFK certificate differs"
	cmp -s "$w/output/cert1.der" <(openssl x509 -in "$4" -outform DER) ||
		fail "csf_parser: image certificate differs"
	hab4_walk "$csf" > "$w/walk.txt" || fail "cannot walk $csf"
	local hdr cert1 cert2 nauth=0
	hdr=$(awk '$1 == "hdr" {print $2}' "$w/walk.txt")
	cert1=$(awk '$1 == "key" && $2 == 9 && $3 == 1 {print $4}' "$w/walk.txt")
	cert2=$(awk '$1 == "key" && $2 == 9 && $3 == 2 {print $4}' "$w/walk.txt")
	[ -n "$cert1" ] && [ -n "$cert2" ] || fail "no CSFK / image key install in $csf"
	hab4_blob "$csf" "$cert1" "$w/c1.der"
	hab4_blob "$csf" "$cert2" "$w/c2.der"
	cmp -s "$w/c1.der" <(openssl x509 -in "$3" -outform DER) || fail "CSFK blob differs"
	cmp -s "$w/c2.der" <(openssl x509 -in "$4" -outform DER) || fail "IMG blob differs"
	openssl x509 -inform DER -in "$w/c1.der" -out "$w/c1.pem"
	openssl x509 -inform DER -in "$w/c2.der" -out "$w/c2.pem"
	while read -r _ key off rest; do
		nauth=$((nauth + 1))
		hab4_blob "$csf" "$off" "$w/sig.der"
		[ "$(od -An -j "$off" -N1 -tx1 "$csf" | tr -d ' ')" = d8 ] || fail "no D8 at $off"
		if [ "$key" = 1 ]; then # Authenticate CSF: the command region
			[ -z "$rest" ] || fail "Authenticate CSF with blocks"
			head -c "$hdr" "$csf" > "$w/signed.bin"
			cert=$w/c1.pem
		else # Authenticate Data: the blocks, concatenated, from the image
			: > "$w/signed.bin"
			set -- $rest
			while [ $# -ge 2 ]; do
				dd if="$img" bs=1 skip=$(($1 - HAB4_BASE)) count="$2" status=none \
					>> "$w/signed.bin"
				shift 2
			done
			[ "$(stat -c %s "$w/signed.bin")" = $HAB4_CSF ] || fail "signed length"
			cert=$w/c2.pem
		fi
		openssl cms -verify -binary -inform DER -in "$w/sig.der" -content "$w/signed.bin" \
			-noverify -certfile "$cert" -out /dev/null 2>"$w/cms.log" ||
			fail "openssl cms -verify (key $key): $(cat "$w/cms.log")"
		# and a flipped signed byte must fail the same check
		printf '\xff' | dd of="$w/signed.bin" bs=1 seek=7 conv=notrunc status=none
		if openssl cms -verify -binary -inform DER -in "$w/sig.der" -content "$w/signed.bin" \
			-noverify -certfile "$cert" -out /dev/null 2>/dev/null; then
			# byte 7 may already be 0xff: flip it another way
			printf '\x00' | dd of="$w/signed.bin" bs=1 seek=7 conv=notrunc status=none
			if openssl cms -verify -binary -inform DER -in "$w/sig.der" \
				-content "$w/signed.bin" -noverify -certfile "$cert" -out /dev/null \
				2>/dev/null; then
				fail "openssl cms accepted altered content"
			fi
		fi
	done < <(awk '$1 == "auth"' "$w/walk.txt")
	[ "$nauth" = 2 ] || fail "expected 2 signatures, found $nauth"
	rm -rf "$w"
}

# must_fail NAME PATTERN IMAGE FUSE: hab verify exits 1 with a message matching PATTERN
must_fail() {
	local rc=0
	"$BS_BIN" hab verify --fuse "$4" "$3" > "$T/vout.txt" 2>&1 || rc=$?
	[ "$rc" = 1 ] || fail "$1: hab verify exit $rc, expected 1 ($(cat "$T/vout.txt"))"
	grep -Eqi "$2" "$T/vout.txt" || fail "$1: message does not name the check: $(cat "$T/vout.txt")"
	echo "rejected as expected: $1: $(grep -Ei "$2" "$T/vout.txt" | grep -Ei 'fail|error|not|mismatch' | head -n1)"
}

for kt in $KEYTYPES; do
	echo "== $kt"
	P=$T/$kt
	hab4_pki "$P" "$kt"
	cd "$P"
	hab4_image image.bin
	hab4_csf_text crts/SRK_1_2_3_4_table.bin crts/CSF1_crt.pem crts/IMG1_crt.pem image.bin \
		> csf.txt
	FUSE=$P/crts/SRK_1_2_3_4_fuse.bin

	# CST-compatible mode: names relative to the working directory
	"$BS_BIN" hab sign -i csf.txt -o csf.bin
	insert_csf csf.bin image.bin signed.bin
	"$BS_BIN" hab verify --fuse "$FUSE" signed.bin > verify.log 2>&1 ||
		fail "$kt: hab verify: $(cat verify.log)"
	oracle_check "$P/csf.bin" "$P/signed.bin" crts/CSF1_crt.pem crts/IMG1_crt.pem

	# bundle mode: keys come from the tar.gz only
	tar -czf "$T/bundle-$kt.tar.gz" crts keys
	B=$T/b-$kt
	mkdir "$B"
	cp image.bin csf.txt "$B/"
	(cd "$B" && "$BS_BIN" hab sign --keys "$T/bundle-$kt.tar.gz" -i csf.txt -o csf.bin)
	insert_csf "$B/csf.bin" image.bin "$B/signed.bin"
	"$BS_BIN" hab verify --fuse "$FUSE" "$B/signed.bin" > verify.log 2>&1 ||
		fail "$kt: hab verify (bundle): $(cat verify.log)"
	oracle_check "$B/csf.bin" "$B/signed.bin" crts/CSF1_crt.pem crts/IMG1_crt.pem

	# --- tampering: each must fail, naming the check --------------------------------
	hab4_walk csf.bin > walk.txt
	hdr=$(awk '$1 == "hdr" {print $2}' walk.txt)
	blob_end() { # end (exclusive) of the blob payload at offset $1 in the CSF
		echo $(( $1 + $(od -An -j $(($1 + 1)) -N2 -tu1 csf.bin | awk '{print $1 * 256 + $2}') ))
	}
	srk_off=$(awk '$1 == "key" && $2 == 3 {print $4}' walk.txt)
	c1_off=$(awk '$1 == "key" && $2 == 9 && $3 == 1 {print $4}' walk.txt)
	c2_off=$(awk '$1 == "key" && $2 == 9 && $3 == 2 {print $4}' walk.txt)
	s1_off=$(awk '$1 == "auth" && $2 == 1 {print $3}' walk.txt)
	s2_off=$(awk '$1 == "auth" && $2 == 2 {print $3}' walk.txt)

	flip signed.bin $((0x2000)) bad.bin
	must_fail "$kt image data" 'authenticate data key 2' bad.bin "$FUSE"
	flip signed.bin $((HAB4_CSF + hdr - 1)) bad.bin
	must_fail "$kt CSF commands" 'csf signature' bad.bin "$FUSE"
	flip signed.bin $((HAB4_CSF + srk_off + 20)) bad.bin
	must_fail "$kt SRK table" '^FAIL +SRK' bad.bin "$FUSE"
	flip signed.bin $((HAB4_CSF + $(blob_end "$c1_off") - 1)) bad.bin
	must_fail "$kt CSFK certificate" 'CSFK.*not signed by SRK 0' bad.bin "$FUSE"
	flip signed.bin $((HAB4_CSF + $(blob_end "$c2_off") - 1)) bad.bin
	must_fail "$kt image certificate" 'install key slot 2.*certificate' bad.bin "$FUSE"
	flip signed.bin $((HAB4_CSF + $(blob_end "$s1_off") - 1)) bad.bin
	must_fail "$kt CSF signature" 'csf signature' bad.bin "$FUSE"
	flip signed.bin $((HAB4_CSF + $(blob_end "$s2_off") - 1)) bad.bin
	must_fail "$kt image signature" 'authenticate data key 2.*signature' bad.bin "$FUSE"
	flip "$FUSE" 5 badfuse.bin
	must_fail "$kt fuse" 'SRK.*fuse' signed.bin badfuse.bin

	# a CSFK certificate issued by SRK2 while the CSF installs SRK index 0
	hab4_csf_text crts/SRK_1_2_3_4_table.bin crts/CSFX_crt.pem crts/IMG1_crt.pem image.bin \
		> csfx.txt
	# refused at signing time (the ROM would refuse it); --allow-unbootable writes it
	if "$BS_BIN" hab sign -i csfx.txt -o csfx.bin 2> csfx.err; then
		fail "$kt: a CSFK certificate from SRK2 under Source index 0 was signed"
	fi
	grep -q 'csfx.txt:14:5: \[Install CSFK\]: certificate "crts/CSFX_crt.pem" is not signed by SRK 0, which verifies it; it is signed by SRK 1' csfx.err ||
		fail "$kt: wrong refusal: $(cat csfx.err)"
	[ ! -e csfx.bin ] || fail "$kt: refused sign left csfx.bin"
	"$BS_BIN" hab sign --allow-unbootable -i csfx.txt -o csfx.bin
	insert_csf csfx.bin image.bin signedx.bin
	must_fail "$kt CSFK from SRK2" 'CSFK: certificate is not signed by SRK 0, which verifies it; it is signed by SRK 1' \
		signedx.bin "$FUSE"
	cd "$T"
done

# --- bootsign pki create -> sign -> verify ------------------------------------------------
echo "== pki create"
"$BS_BIN" pki create --out "$T/pki" --key rsa2048 --srks 4 2>/dev/null
cd "$T/pki"
N=sha256_2048_65537
hab4_image image.bin
hab4_csf_text crts/SRK_1_2_3_4_table.bin crts/CSF1_1_${N}_v3_usr_crt.pem \
	crts/IMG1_1_${N}_v3_usr_crt.pem image.bin > csf.txt
"$BS_BIN" hab sign -i csf.txt -o csf.bin
insert_csf csf.bin image.bin signed.bin
"$BS_BIN" hab verify --fuse crts/SRK_1_2_3_4_fuse.bin signed.bin > verify.log 2>&1 ||
	fail "pki create: hab verify: $(cat verify.log)"
oracle_check "$T/pki/csf.bin" "$T/pki/signed.bin" crts/CSF1_1_${N}_v3_usr_crt.pem \
	crts/IMG1_1_${N}_v3_usr_crt.pem
mkdir "$T/pb"
cp image.bin csf.txt "$T/pb/"
(cd "$T/pb" && "$BS_BIN" hab sign --keys "$T/pki/imx-cst-keys.tar.gz" -i csf.txt -o csf.bin)
insert_csf "$T/pb/csf.bin" image.bin "$T/pb/signed.bin"
"$BS_BIN" hab verify --fuse crts/SRK_1_2_3_4_fuse.bin "$T/pb/signed.bin" > verify.log 2>&1 ||
	fail "pki create (bundle): hab verify: $(cat verify.log)"
srktool -h 4 -t "$T/t.bin" -e "$T/f.bin" -d sha256 -f 1 \
	-c crts/SRK1_${N}_v3_ca_crt.pem,crts/SRK2_${N}_v3_ca_crt.pem,crts/SRK3_${N}_v3_ca_crt.pem,crts/SRK4_${N}_v3_ca_crt.pem \
	>/dev/null
cmp "$T/t.bin" crts/SRK_1_2_3_4_table.bin || fail "pki create: SRK table differs from srktool"
cmp "$T/f.bin" crts/SRK_1_2_3_4_fuse.bin || fail "pki create: fuse differs from srktool"
if [ -e "$T/rsa2048/crts/SRK_1_2_3_4_fuse.bin" ]; then
	must_fail "pki create: other fuse" 'SRK.*fuse' signed.bin \
		"$T/rsa2048/crts/SRK_1_2_3_4_fuse.bin"
fi
cd "$T"
echo PASS
