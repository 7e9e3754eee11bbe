#!/usr/bin/env bash
# e2e: AHAB with the real binary. Oracles, all independent of bootsign's code:
#  - Debian's srktool (imx-code-signing-tool 3.3.1) for `srk -a` tables and fuse files.
#    3.3.1 cannot: the `-a 1` spelling (it takes a bare -a), -d (its fuse digest is always
#    SHA-512; the SHA-256 fuse file is checked against sha256sum of the table instead),
#    fewer than 4 certificates (it refuses them, as we do).
#  - tests/e2e/lib/ahab.py (written from the format notes, Python stdlib + openssl):
#    builds the unsigned two-image container, verifies signed images on its own
#    (hashlib for image and SRK table hashes, `openssl pkeyutl -verify` over the signed
#    range), and assembles the image CST 4.0.1 writes for RSA PKCS#1 v1.5 keys (layout
#    of AHAB.md §4/§7/§10, signatures by `openssl pkeyutl -sign`). CST itself is not run:
#    Debian's cst 3.3.1 has no AHAB v1 signing that matches 4.0.1 and segfaults on
#    bookworm, so "byte-identical to CST" is checked against that spec-built image.
#  - every tamper must fail both verifiers with the named check; every refused signing
#    run must leave no output.
set -euo pipefail
: "${BS_BIN:?BS_BIN not set}" "${BS_SRCDIR:?BS_SRCDIR not set}"
H="python3 $BS_SRCDIR/tests/e2e/lib/ahab.py"
. "$BS_SRCDIR/tests/e2e/lib/common.sh"
command -v srktool >/dev/null || { echo "srktool not installed (imx-code-signing-tool)"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
fails=0
pass() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }

cat > cnf <<'X'
[req]
distinguished_name=dn
[dn]
[ca]
basicConstraints=critical,CA:TRUE
keyUsage=keyCertSign,cRLSign
[ee]
basicConstraints=critical,CA:FALSE
keyUsage=digitalSignature
X
mkdir -p crts keys
mk() { # name ext genpkey-args... -> crts/NAME_crt.pem, keys/NAME_key.pem (CST naming)
	local n=$1 ext=$2
	shift 2
	openssl genpkey -quiet "$@" -out "keys/${n}_key.pem" 2>/dev/null
	openssl req -new -x509 -key "keys/${n}_key.pem" -subj "/CN=$n" -days 30 -config cnf \
		-extensions "$ext" -out "crts/${n}_crt.pem"
}
for i in 1 2 3 4; do
	mk SRK${i}_rsa ca -algorithm RSA -pkeyopt rsa_keygen_bits:2048
	mk SRK${i}_p256 ca -algorithm EC -pkeyopt ec_paramgen_curve:P-256
	mk SRK${i}_p384 ca -algorithm EC -pkeyopt ec_paramgen_curve:P-384
	mk SRK${i}_pss ca -algorithm RSA-PSS -pkeyopt rsa_keygen_bits:2048
done
mk SGK_rsa ca -algorithm RSA -pkeyopt rsa_keygen_bits:2048
mk SGK_p384 ee -algorithm EC -pkeyopt ec_paramgen_curve:P-384
certs() { echo crts/SRK1_$1_crt.pem,crts/SRK2_$1_crt.pem,crts/SRK3_$1_crt.pem,crts/SRK4_$1_crt.pem; }

# ---- srk -a against srktool 3.3.1 ----
srk_same() { # label bootsign-args... -- srktool-args...
	local label=$1
	shift
	local ba=() sa=()
	while [ "$1" != -- ]; do ba+=("$1"); shift; done
	shift
	sa=("$@")
	rm -f b.tbl b.fuse s.tbl s.fuse
	"$BS_BIN" srk -a 1 -t b.tbl -e b.fuse "${ba[@]}" > b.out || { bad "$label: bootsign failed"; return; }
	srktool -a -t s.tbl -e s.fuse "${sa[@]}" > s.out 2>&1 || { bad "$label: srktool failed"; return; }
	if cmp -s b.tbl s.tbl && cmp -s b.fuse s.fuse; then pass "$label: table and fuse file identical to srktool"; else bad "$label: differs from srktool"; fi
	# fuse words as srktool prints them
	if diff <(grep -o 'SRK HASH\[[0-9]*\] = 0x[0-9A-F]*' s.out | sed 's/SRK HASH/SRKH/') \
		<(grep -o 'SRKH\[[0-9]*\] = 0x[0-9A-F]*' b.out) >/dev/null; then pass "$label: fuse words"; else bad "$label: fuse words differ"; fi
}
srk_same "RSA-2048 sha256" -s sha256 -c "$(certs rsa)" -- -s sha256 -c "$(certs rsa)"
srk_same "P-256 sha256 -f 0" -s sha256 -f 0 -c "$(certs p256)" -- -s sha256 -f 0 -c "$(certs p256)"
srk_same "P-384 sha384" -s sha384 -c "$(certs p384)" -- -s sha384 -c "$(certs p384)"
srk_same "RSA-2048 sha512" -s sha512 -c "$(certs rsa)" -- -s sha512 -c "$(certs rsa)"
for i in 1 2 3 4; do openssl x509 -in crts/SRK${i}_p256_crt.pem -outform DER -out SRK${i}_p256.der; done
srk_same "P-256 DER certificates" -s sha256 -c SRK1_p256.der,SRK2_p256.der,SRK3_p256.der,SRK4_p256.der -- \
	-s sha256 -c SRK1_p256.der,SRK2_p256.der,SRK3_p256.der,SRK4_p256.der
# -d sha256 (srktool 3.3.1 has no -d): the fuse file is SHA-256 of the table
"$BS_BIN" srk -a 1 -d sha256 -s sha256 -t p256.tbl -e p256.fuse -c "$(certs p256)" --soc imx93 > o
if [ "$(sha256sum < p256.tbl | cut -c1-64)" = "$(od -An -v -tx1 p256.fuse | tr -d ' \n')" ]; then pass "-d sha256 fuse = sha256(table)"; else bad "-d sha256 fuse"; fi
w0=$(od -An -tx4 -N4 p256.fuse | tr -d ' ')
if grep -qi "^fuse prog -y 16 0 0x$w0\$" o && [ "$(grep -c '^fuse prog -y 16 ' o)" = 8 ]; then pass "--soc imx93: 8 fuse prog lines (bank 16)"; else bad "--soc imx93 lines"; cat o; fi
"$BS_BIN" srk -a 1 -s sha256 -t rsa.tbl -e rsa.fuse -c "$(certs rsa)" --soc imx8qxp > o
if [ "$(grep -c '^fuse prog -y 0 7[34][0-9] ' o)" = 16 ] && grep -q '^fuse prog -y 0 745 ' o; then pass "--soc imx8qxp: 16 fuse prog lines 0 730..745"; else bad "--soc imx8qxp lines"; fi
"$BS_BIN" srk -a 1 -s sha256 -t x.tbl -e x.fuse -c "$(certs rsa)" --soc imx8qm | grep -q '^fuse prog -y 0 722 ' && pass "--soc imx8qm starts at 0 722" || bad "--soc imx8qm"
"$BS_BIN" srk -a 1 -s sha256 -t x.tbl -e x.fuse -c "$(certs p256)" --soc imx8ulp | grep -q '^fuse prog -y 15 7 ' && pass "--soc imx8ulp ends at 15 7" || bad "--soc imx8ulp"
rm -f x.tbl x.fuse
# --print-fuse on srktool's own fuse file (format 1 and 0): the words srktool printed
srktool -a -s sha256 -t s.tbl -e s0.fuse -f 0 -c "$(certs rsa)" > s0.out 2>&1
srktool -a -s sha256 -t s.tbl -e s.fuse -c "$(certs rsa)" > s.out 2>&1
want=$(grep -o 'SRK HASH\[[0-9]*\] = 0x[0-9A-F]*' s.out | sed 's/SRK HASH/SRKH/')
for f in s.fuse s0.fuse; do
	got=$("$BS_BIN" srk -a --print-fuse $f --soc imx8qm | grep '^SRKH')
	[ "$got" = "$want" ] && pass "srk -a --print-fuse $f (srktool's words)" || bad "srk -a --print-fuse $f"
done
"$BS_BIN" srk -a --print-fuse s.fuse --soc imx93 > /dev/null 2>&1 && bad "SHA-512 fuse file accepted for imx93" || pass "--print-fuse: SHA-512 file refused for imx93"
srk_err() { # label expected-message args...
	local label=$1 msg=$2
	shift 2
	rm -f e.tbl e.fuse
	if "$BS_BIN" srk "$@" -t e.tbl -e e.fuse 2> err; then bad "$label: accepted"; return; fi
	if grep -q -- "$msg" err && [ ! -e e.tbl ] && [ ! -e e.fuse ]; then pass "$label"; else bad "$label: $(cat err)"; fi
}
srk_err "3 certificates refused" "exactly 4 certificates" -a 1 -s sha256 -c crts/SRK1_rsa_crt.pem,crts/SRK2_rsa_crt.pem,crts/SRK3_rsa_crt.pem
srk_err "mixed key types refused" "same type" -a 1 -s sha256 -c crts/SRK1_rsa_crt.pem,crts/SRK2_rsa_crt.pem,crts/SRK3_rsa_crt.pem,crts/SRK4_p256_crt.pem
srk_err "-d sha256 with --soc imx8qxp refused" "does not fit" -a 1 -d sha256 -s sha256 -c "$(certs rsa)" --soc imx8qxp
srk_err "-a 2 not supported yet" "not supported yet" -a 2 -s sha256 -c "$(certs rsa)"

# ---- signing ----
for t in rsa p256 p384 pss; do
	"$BS_BIN" srk -a 1 -s $([ $t = p384 ] && echo sha384 || echo sha256) -t crts/$t.tbl -e crts/$t.fuse512 -c "$(certs $t)" > /dev/null
	"$BS_BIN" srk -a 1 -d sha256 -s $([ $t = p384 ] && echo sha384 || echo sha256) -t crts/$t.tbl -e crts/$t.fuse256 -c "$(certs $t)" > /dev/null
done
$H build img.bin
$H build img384.bin --hash sha384
csf() { # out table source index set revoke image offsets [cert perm]
	{
		printf '[Header]\nTarget = AHAB\nVersion = 1.0\n[Install SRK]\nFile = "%s"\nSource = "%s"\n' "$2" "$3"
		printf 'Source Index = %s\nSource Set = %s\nRevocations = %s\n' "$4" "$5" "$6"
		[ -n "${9:-}" ] && printf '[Install Certificate]\nFile = "%s"\nPermissions = %s\n' "$9" "${10}"
		printf '[Authenticate Data]\nFile = "%s"\nOffsets = %s\n' "$7" "$8"
	} > "$1"
}
sign_ok() { # label csf out fuse
	rm -f "$3"
	if ! "$BS_BIN" hab sign -i "$2" -o "$3" > sign.out 2> sign.err; then bad "$1: signing failed: $(cat sign.err)"; return 1; fi
	if "$BS_BIN" ahab verify --fuse "$4" "$3" > v.out 2>&1; then pass "$1: bootsign verifier"; else bad "$1: bootsign verify: $(cat v.out)"; fi
	if [ "$($H check "$3" "$4")" = OK ]; then pass "$1: independent verifier"; else bad "$1: independent: $($H check "$3" "$4")"; fi
}
csf rsa.csf crts/rsa.tbl crts/SRK1_rsa_crt.pem 0 OEM 0 img.bin "0 0x110"
sign_ok "RSA-2048 SRK0" rsa.csf rsa.bin crts/rsa.fuse512
$H expect img.bin rsa.exp crts/rsa.tbl keys/SRK1_rsa_key.pem 0 0 0
cmp -s rsa.exp rsa.bin && pass "RSA-2048: byte-identical to the CST 4.0.1 layout" || bad "RSA-2048: differs from the CST layout"
[ "$(stat -c %s rsa.bin)" = "$(stat -c %s img.bin)" ] && pass "output size = input size (as CST)" || bad "output size"
"$BS_BIN" hab sign -i rsa.csf -o rsa.exp2 >/dev/null 2>&1 # sign again: output identical (deterministic)
cmp -s rsa.bin rsa.exp2 && pass "RSA PKCS#1 signing is deterministic" || bad "RSA re-sign differs"
cp rsa.bin resign-in.bin
csf resign.csf crts/rsa.tbl crts/SRK1_rsa_crt.pem 0 OEM 0 resign-in.bin "0 0x110"
"$BS_BIN" hab sign -i resign.csf -o resign.bin >/dev/null 2>&1 && cmp -s resign.bin rsa.bin && pass "re-signing a signed image replaces its signature block" || bad "re-sign"

csf rsac.csf crts/rsa.tbl crts/SRK3_rsa_crt.pem 2 OEM 0x1 img.bin "0 0x110" crts/SGK_rsa_crt.pem 0x1
sign_ok "RSA-2048 SRK2 + certificate, revoke 0x1" rsac.csf rsac.bin crts/rsa.fuse256
[ "$(od -An -tx4 -j4 -N4 rsac.bin | tr -d ' ')" = 00000122 ] && pass "flags 0x122 (OEM, SRK 2, revoke 0x1)" || bad "flags $(od -An -tx4 -j4 -N4 rsac.bin)"
$H expect img.bin rsac.exp crts/rsa.tbl keys/SRK3_rsa_key.pem 0 2 1 crts/SGK_rsa_crt.pem keys/SGK_rsa_key.pem 1
cmp -s rsac.exp rsac.bin && pass "RSA + certificate: byte-identical to the CST 4.0.1 layout" || bad "RSA + certificate: differs from the CST layout"
grep -q "warning: the container asks to revoke the SRK that signed it" v.out && bad "revoke warning for SRK 2" || true

# pre-made certificate signature (what a server without SRK keys signs with)
"$BS_BIN" hab sign --ahab-cert-signature -i rsac.csf -o sgk.sig > /dev/null 2>&1 || bad "--ahab-cert-signature"
[ "$(stat -c %s sgk.sig)" = 256 ] && pass "certificate signature file: 256 bytes (RSA-2048)" || bad "sig size"
mkdir -p nosrk/crts nosrk/keys
cp crts/rsa.tbl crts/SRK3_rsa_crt.pem crts/SGK_rsa_crt.pem sgk.sig nosrk/crts/
cp keys/SGK_rsa_key.pem nosrk/keys/
awk '{print} /^Permissions/{print "Signature = \"crts/sgk.sig\""}' rsac.csf > rsacs.csf
"$BS_BIN" hab sign --keys nosrk -i rsacs.csf -o rsacs.bin > /dev/null 2> s.err || bad "sign with a pre-made certificate signature: $(cat s.err)"
cmp -s rsacs.bin rsac.bin && pass "pre-made certificate signature, no SRK key: image identical to the one signed with the SRK key" || bad "pre-made signature image differs"
flip nosrk/crts/sgk.sig 100 nosrk/crts/bad.sig
sed 's#crts/sgk.sig#crts/bad.sig#' rsacs.csf > r.csf
rm -f r.bin
"$BS_BIN" hab sign --keys nosrk -i r.csf -o r.bin > /dev/null 2> r.err && bad "corrupted certificate signature accepted" ||
	{ grep -q "r.csf:13:13: certificate signature crts/bad.sig does not verify with SRK table entry 2" r.err && [ ! -e r.bin ] && pass "corrupted certificate signature refused" || bad "corrupted sig: $(cat r.err)"; }
sed 's#Permissions = 0x1#Permissions = 0x5#' rsacs.csf > r.csf
"$BS_BIN" hab sign --keys nosrk -i r.csf -o r.bin > /dev/null 2> r.err && bad "signature for other permissions accepted" ||
	{ grep -q "permissions 0x05" r.err && pass "certificate signature made for other permissions refused" || bad "perm sig: $(cat r.err)"; }
head -c 100 sgk.sig > nosrk/crts/short.sig
sed 's#crts/sgk.sig#crts/short.sig#' rsacs.csf > r.csf
"$BS_BIN" hab sign --keys nosrk -i r.csf -o r.bin > /dev/null 2> r.err && bad "short certificate signature accepted" ||
	{ grep -q "is 100 bytes, SRK 2 signs with 256" r.err && pass "short certificate signature refused" || bad "short sig: $(cat r.err)"; }

csf p256.csf crts/p256.tbl crts/SRK1_p256_crt.pem 0 OEM 0 img.bin "0 0x110"
sign_ok "P-256 SRK0 (SHA-256 fuse, i.MX93)" p256.csf p256.bin crts/p256.fuse256
[ "$(od -An -tx1 -j $((0x110 + 1)) -N2 p256.bin | tr -d ' ')" = 9001 ] && pass "P-256 signature block is 0x190 bytes (as SPSDK/CST)" || bad "P-256 sigblk length"
csf p384.csf crts/p384.tbl crts/SRK4_p384_crt.pem 3 OEM 0 img384.bin "0 0x110" crts/SGK_p384_crt.pem 0x1
sign_ok "P-384 SRK3 + certificate, SHA-384 images" p384.csf p384.bin crts/p384.fuse512
csf pss.csf crts/pss.tbl crts/SRK2_pss_crt.pem 1 OEM 0 img.bin "0 0x110"
sign_ok "RSA-PSS SRK1 (record 0x22)" pss.csf pss.bin crts/pss.fuse512
# CST leaves the PSS salt to OpenSSL (maximum length): the verifier accepts it too
for salt in max 0; do
	$H resign-pss pss.bin pss-$salt.bin keys/SRK2_pss_key.pem $salt
	cmp -s pss.bin pss-$salt.bin && bad "resign-pss did not change the signature"
	"$BS_BIN" ahab verify -q --fuse crts/pss.fuse512 pss-$salt.bin > /dev/null && pass "RSA-PSS salt $salt accepted" || bad "RSA-PSS salt $salt refused"
done

# ---- dump: the structure as signed (independent numbers from the test's own layout) ----
"$BS_BIN" ahab dump rsac.bin > dump.out
grep -q "flags 0x00000122 (SRK set 2, SRK 2, revoke mask 0x1)" dump.out && grep -q "SRK table: 1088 bytes, 4 records" dump.out &&
	grep -q "certificate: .* permissions 0x01 (inverted 0xfe)" dump.out && grep -q "signature: 256 bytes" dump.out &&
	grep -q "SRK hash sha256 (8ULP/91/93/95A0): $(od -An -v -tx1 crts/rsa.fuse256 | tr -d ' \n')" dump.out &&
	pass "ahab dump" || bad "ahab dump: $(cat dump.out)"
"$BS_BIN" ahab dump /dev/null > /dev/null 2>&1 && bad "dump of an empty file succeeded" || pass "dump of a non-image fails"

# ---- tampers: both verifiers must reject, bootsign naming the check ----
tamper() { # label image fuse check offset [verify-args]
	local label=$1 img=$2 fuse=$3 check=$4 off=$5
	shift 5
	if [ "$off" = - ]; then cp "$img" t.bin; else flip "$img" "$off" t.bin; fi
	if "$BS_BIN" ahab verify --fuse "$fuse" "$@" t.bin > /dev/null 2> t.err; then
		bad "$label: bootsign accepted"
	elif grep -q ": $check: " t.err; then pass "$label: bootsign names '$check'"
	else bad "$label: bootsign: $(cat t.err)"; fi
	local ind
	ind=$($H check t.bin "$fuse" "$@" || true)
	case "$ind" in "FAIL $check"*) pass "$label: independent check names '$check'" ;;
	*) bad "$label: independent check: $ind" ;; esac
}
tamper "header byte (sw version)" rsa.bin crts/rsa.fuse512 signature 8
tamper "image array: image hash" rsa.bin crts/rsa.fuse512 signature $((16 + 32 + 3))
tamper "image byte" rsa.bin crts/rsa.fuse512 "image hash" $((0x4000 + 0x100))
tamper "SRK table byte" rsa.bin crts/rsa.fuse512 "SRK hash" $((0x110 + 0x10 + 40))
tamper "signature byte" rsa.bin crts/rsa.fuse512 signature $((0x110 + 0x450 + 8 + 100))
tamper "ECDSA signature byte" p256.bin crts/p256.fuse256 signature $((0x110 + 0x148 + 8 + 10))
certoff=$((0x110 + $(od -An -tu2 -j $((0x110 + 4)) -N2 rsac.bin | tr -d ' ')))
tamper "certificate key byte" rsac.bin crts/rsa.fuse256 certificate $((certoff + 8 + 12 + 30))
tamper "certificate permissions" rsac.bin crts/rsa.fuse256 certificate $((certoff + 7))
certoff=$((0x110 + $(od -An -tu2 -j $((0x110 + 4)) -N2 p384.bin | tr -d ' ')))
tamper "P-384 certificate key byte" p384.bin crts/p384.fuse512 certificate $((certoff + 8 + 12 + 5))
tamper "wrong fuse (SHA-256 value for the SHA-512 table)" rsa.bin crts/p256.fuse256 "SRK hash" -
tamper "wrong fuse (other table)" rsa.bin crts/pss.fuse512 "SRK hash" -
tamper "revoked SRK 0" rsa.bin crts/rsa.fuse512 "SRK selection" - --revoked 0x1
tamper "revoked SRK 2" rsac.bin crts/rsa.fuse256 "SRK selection" - --revoked 0x4
"$BS_BIN" ahab verify --fuse crts/rsa.fuse256 --revoked 0xB rsac.bin > /dev/null && pass "other SRKs revoked: still valid" || bad "revoked mask without SRK 2"
if "$BS_BIN" ahab verify --fuse crts/rsa.fuse512 img.bin > /dev/null 2> t.err; then bad "unsigned accepted"; else grep -q "signature: container is not signed" t.err && pass "unsigned container refused" || bad "unsigned: $(cat t.err)"; fi

# ---- --offset: a container at 0x400 with nothing at 0 ----
$H build off.bin --base 0x400
csf off.csf crts/p256.tbl crts/SRK1_p256_crt.pem 0 OEM 0 off.bin "0x400 0x510"
"$BS_BIN" hab sign -i off.csf -o offs.bin > /dev/null 2>&1 || bad "sign at 0x400"
"$BS_BIN" ahab verify -q --fuse crts/p256.fuse256 --offset 0x400 offs.bin > /dev/null && pass "--offset 0x400" || bad "--offset 0x400"
[ "$($H check offs.bin crts/p256.fuse256 --offset 0x400)" = OK ] && pass "--offset 0x400: independent" || bad "--offset: independent"
"$BS_BIN" ahab verify -q --fuse crts/p256.fuse256 offs.bin > /dev/null 2>&1 && bad "no container at 0 accepted" || pass "no container at 0: refused without --offset"

# ---- anti-rollback: the header's fuse version against the fused one ----
$H build fv.bin --fuse-version 3
csf fv.csf crts/p256.tbl crts/SRK1_p256_crt.pem 0 OEM 0 fv.bin "0 0x110"
"$BS_BIN" hab sign -i fv.csf -o fvs.bin > /dev/null 2>&1 || bad "sign fuse version 3"
"$BS_BIN" ahab verify -q --fuse crts/p256.fuse256 --fuse-version 3 fvs.bin > /dev/null && pass "fuse version 3 >= fused 3" || bad "fuse version 3 refused"
"$BS_BIN" ahab verify -q --fuse crts/p256.fuse256 --fuse-version 4 fvs.bin > /dev/null 2> t.err && bad "fuse version 3 < 4 accepted" ||
	{ grep -q "container at 0x0: anti-rollback: fuse version 3 is below the fused version 4" t.err && pass "anti-rollback names the check" || bad "anti-rollback: $(cat t.err)"; }

# ---- a container set: NXP-set container at 0 (its own SRKs), OEM container at 0x400 ----
$H build set.bin
$H build set.bin --into 1 --base 0x400 --first 0x5c00
csf nxp.csf crts/p256.tbl crts/SRK1_p256_crt.pem 0 NXP 0 set.bin "0 0x110"
"$BS_BIN" hab sign -i nxp.csf -o set1.bin > /dev/null 2>&1 || bad "sign the NXP container"
csf oem.csf crts/rsa.tbl crts/SRK2_rsa_crt.pem 1 OEM 0 set1.bin "0x400 0x510"
"$BS_BIN" hab sign -i oem.csf -o set2.bin > /dev/null 2>&1 || bad "sign the OEM container"
if "$BS_BIN" ahab verify --fuse crts/rsa.fuse512 set2.bin > set.out 2>&1 && grep -q "container 0x0: SRK hash: NXP SRK set, not compared" set.out &&
	grep -q "container 0x400: SRK hash: SHA512 of the SRK table matches" set.out; then pass "container set: NXP container at 0 and OEM container at 0x400 both verified"; else bad "container set: $(cat set.out)"; fi
[ "$($H check set2.bin crts/rsa.fuse512 --offset 0x400)" = OK ] && pass "container set: independent check of the OEM container" || bad "container set: independent"
flip set2.bin $((0x4000 + 9)) t.bin
"$BS_BIN" ahab verify --fuse crts/rsa.fuse512 t.bin > /dev/null 2> t.err && bad "container set: NXP image change accepted" ||
	{ grep -q "container at 0x0: image hash" t.err && pass "container set: a changed image of container 0 is found" || bad "container set tamper: $(cat t.err)"; }
flip set2.bin $((0x400 + 0x110 + 0x10 + 50)) t.bin
"$BS_BIN" ahab verify --fuse crts/rsa.fuse512 t.bin > /dev/null 2> t.err && bad "container set: OEM table change accepted" ||
	{ grep -q "container at 0x400: SRK hash" t.err && pass "container set: a changed OEM SRK table is found" || bad "container set tamper 2: $(cat t.err)"; }
if "$BS_BIN" ahab verify --fuse crts/rsa.fuse512 set1.bin > /dev/null 2> t.err; then bad "NXP-only set accepted"; else grep -q "container at 0x400: signature: container is not signed" t.err && pass "unsigned OEM container in a set refused" || bad "NXP-only: $(cat t.err)"; fi

# ---- refused signing runs leave no output ----
refuse() { # label expected-message csf
	rm -f r.bin
	if "$BS_BIN" hab sign -i "$3" -o r.bin > /dev/null 2> r.err; then bad "$1: accepted"; return; fi
	if grep -q -- "$2" r.err && [ ! -e r.bin ] && [ -z "$(ls r.bin.* 2>/dev/null)" ]; then pass "$1"; else bad "$1: $(cat r.err)"; fi
}
flip img.bin $((0x2000 + 7)) changed.bin
csf r.csf crts/rsa.tbl crts/SRK1_rsa_crt.pem 0 OEM 0 changed.bin "0 0x110"
refuse "image changed after mkimage" "refusing to sign: image 0" r.csf
csf r.csf crts/rsa.tbl crts/SRK1_rsa_crt.pem 0 OEM 0 img.bin "0 0x100"
refuse "inconsistent Offsets" "Offsets are not consistent" r.csf
$H build close.bin --first 0x400
csf r.csf crts/rsa.tbl crts/SRK1_rsa_crt.pem 0 OEM 0 close.bin "0 0x110"
refuse "signature block would overwrite the first image" "would overwrite image 0" r.csf
csf r.csf crts/rsa.tbl crts/SRK2_rsa_crt.pem 0 OEM 0 img.bin "0 0x110"
refuse "Source certificate is another table entry" "holds SRK table entry 1, but Source Index = 0" r.csf
csf r.csf crts/rsa.tbl crts/SRK1_p256_crt.pem 0 OEM 0 img.bin "0 0x110"
refuse "Source certificate not in the table" "is not SRK table entry 0" r.csf
csf r.csf crts/p384.tbl crts/SRK1_p384_crt.pem 0 OEM 0 img384.bin "0 0x110" crts/SGK_rsa_crt.pem 1
refuse "certificate key of another type" "differs from the SRK's" r.csf
sed 's/Version = 1.0/Version = 2.0/' rsa.csf > r.csf
refuse "Version 2.0" "r.csf:3:11: AHAB Version 2.0 is not supported yet" r.csf
printf '[Install Secret Key]\nKey = "dek.bin"\n' >> rsa2.csf; cat rsa.csf rsa2.csf > r.csf
refuse "Install Secret Key" "r.csf:13:1: \[Install Secret Key\] (AHAB image encryption) is not supported yet" r.csf
grep -v Revocations rsa.csf > r.csf
refuse "missing Revocations" "r.csf:4:1: \[Install SRK\] without 'Revocations'" r.csf
sed 's/Source Index = 0/Source Index = 4/' rsa.csf > r.csf
refuse "Source Index 4" "r.csf:7:16: 4 is out of range" r.csf
sed 's/Source Set = OEM/Source Set = ACME/' rsa.csf > r.csf
refuse "Source Set ACME" "r.csf:8:14: unexpected" r.csf
sed 's/Offsets = 0 0x110/Blocks = 0 0x110/' rsa.csf > r.csf
refuse "HAB4 argument in an AHAB CSF" "r.csf:12:1: unknown argument 'BLOCKS' in \[Authenticate Data\]" r.csf

# ---- --keys confinement (names inside the key store, image from the working dir) ----
mkdir -p ks
cp -r crts keys ks/
"$BS_BIN" hab sign --keys ks -i rsa.csf -o ks.bin > /dev/null 2>&1 && cmp -s ks.bin rsa.bin && pass "--keys DIR" || bad "--keys DIR"
sed 's|File = "crts/rsa.tbl"|File = "../crts/rsa.tbl"|' rsa.csf > r.csf
rm -f r.bin
if "$BS_BIN" hab sign --keys ks -i r.csf -o r.bin > /dev/null 2> r.err; then bad "--keys: .. accepted"; else [ ! -e r.bin ] && pass "--keys: '..' refused ($(head -c 80 r.err))" || bad "--keys .."; fi

# ---- pki create --ahab: file keys (bundle) and token keys ----
"$BS_BIN" pki create --ahab --sgk --key p256 --out apki > /dev/null 2>&1 || bad "pki create --ahab"
AC=apki/crts
pc() { echo $AC/SRK1_sha256_prime256v1_v3_ca_crt.pem,$AC/SRK2_sha256_prime256v1_v3_ca_crt.pem,$AC/SRK3_sha256_prime256v1_v3_ca_crt.pem,$AC/SRK4_sha256_prime256v1_v3_ca_crt.pem; }
srktool -a -s sha256 -t pk.tbl -e pk.fuse -c "$(pc)" > /dev/null 2>&1
cmp -s pk.tbl $AC/SRK_1_2_3_4_table.bin && cmp -s pk.fuse $AC/SRK_1_2_3_4_fuse.bin && pass "pki --ahab: table and SHA-512 fuse = srktool's" || bad "pki --ahab table/fuse vs srktool"
[ "$(sha256sum < $AC/SRK_1_2_3_4_table.bin | cut -c1-64)" = "$(od -An -v -tx1 $AC/SRK_1_2_3_4_fuse_sha256.bin | tr -d ' \n')" ] && pass "pki --ahab: SHA-256 fuse file" || bad "pki --ahab sha256 fuse"
csf pk.csf crts/SRK_1_2_3_4_table.bin crts/SRK3_sha256_prime256v1_v3_ca_crt.pem 2 OEM 0 img.bin "0 0x110" crts/SGK3_1_sha256_prime256v1_v3_usr_crt.pem 0x1
rm -f pk.bin
"$BS_BIN" hab sign --keys apki -i pk.csf -o pk.bin > /dev/null 2> pk.err || bad "sign with the pki tree: $(cat pk.err)"
"$BS_BIN" ahab verify -q --fuse $AC/SRK_1_2_3_4_fuse_sha256.bin pk.bin > /dev/null && [ "$($H check pk.bin $AC/SRK_1_2_3_4_fuse_sha256.bin)" = OK ] && pass "pki --ahab tree: SRK3 + SGK3 signed image verifies (both verifiers)" || bad "pki tree signing verify"
# its server bundle holds no SRK key; each SGK's certificate signature (permissions 0x01) lets it sign
tar -tzf apki/imx-cst-keys.tar.gz | grep -q 'keys/SRK' && bad "pki --ahab bundle holds SRK keys" || pass "pki --ahab bundle holds no SRK key"
awk '{print} /^Permissions/{print "Signature = \"crts/SGK3_1_sha256_prime256v1_v3_usr_cert_sig.bin\""}' pk.csf > pkb.csf
rm -f pkb.bin
"$BS_BIN" hab sign --keys apki/imx-cst-keys.tar.gz -i pkb.csf -o pkb.bin > /dev/null 2> pk.err || bad "sign with the pki bundle: $(cat pk.err)"
"$BS_BIN" ahab verify -q --fuse $AC/SRK_1_2_3_4_fuse_sha256.bin pkb.bin > /dev/null && [ "$($H check pkb.bin $AC/SRK_1_2_3_4_fuse_sha256.bin)" = OK ] && pass "pki --ahab bundle + SGK3 certificate signature: image verifies (both verifiers)" || bad "pki bundle signing verify"
if [ -e /usr/lib/softhsm/libsofthsm2.so ]; then
	MOD=/usr/lib/softhsm/libsofthsm2.so
	softhsm_token "$tmp/hsm" YubiHSM 0001password
	printf '0001password' > pin.txt
	chmod 600 pin.txt
	"$BS_BIN" pki create --ahab --sgk --key p256 --out tpki --token pkcs11:token=YubiHSM --module $MOD \
		--pin-file pin.txt > /dev/null 2> tp.err || bad "pki create --ahab --token: $(cat tp.err)"
	[ ! -e tpki/keys ] && pass "pki --ahab --token: no key files" || bad "token pki wrote keys/"
	U=pkcs11:token=YubiHSM
	csf tp.csf tpki/crts/SRK_1_2_3_4_table.bin "$U;object=SRK2_sha256_prime256v1_v3_ca;type=cert" 1 OEM 0 img.bin "0 0x110" \
		"$U;object=SGK2_1_sha256_prime256v1_v3_usr;type=cert" 0x1
	rm -f tp.bin
	"$BS_BIN" hab sign -b pkcs11 --module $MOD --pin-file pin.txt -i tp.csf -o tp.bin > /dev/null 2> tp.err || bad "token signing: $(cat tp.err)"
	"$BS_BIN" ahab verify -q --fuse tpki/crts/SRK_1_2_3_4_fuse.bin tp.bin > /dev/null && [ "$($H check tp.bin tpki/crts/SRK_1_2_3_4_fuse.bin)" = OK ] && pass "token PKI: SRK2 + SGK2 in SoftHSM2, signed image verifies (both verifiers)" || bad "token pki signing verify"
else
	bad "SoftHSM2 missing (scripts/deps.sh test installs it)"
fi

[ "$fails" = 0 ] || { echo "$fails failure(s)"; exit 1; }
echo "all AHAB CLI checks passed"
