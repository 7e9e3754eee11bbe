#!/usr/bin/env bash
# POST /sign/optee as digsigserver's clients send it: a tar.gz of <uuid>.stripped.elf (+
# optional <uuid>.ta-version) comes back with each pair replaced by <uuid>.ta in OP-TEE's
# signed-TA layout. Checked without bootsign code: the layout parsed and the digest
# recomputed by lib/optee_check.py (Python stdlib), the signature by openssl pkeyutl
# (RSASSA-PSS, MGF1-SHA-256, salt 32), with a key-store file and a SoftHSM2 token key; each
# with a tampered copy the oracles reject. Bad inputs: 4xx naming the member or key file,
# server up, spool empty, no PIN in the log; `bootsign sign optee` offline too.
set -euo pipefail
. "$BS_SRCDIR/tests/e2e/lib/common.sh"
. "$BS_SRCDIR/tests/e2e/lib/server_common.sh"
. "$BS_SRCDIR/tests/e2e/lib/token.sh"
srv_setup
TEST_PIN=0001password
CHECK=$BS_SRCDIR/tests/e2e/lib/optee_check.py

K=$T/keys/qemuarm64/opteesign
mkdir -p "$K" "$T/keys/nokeys/opteesign" "$T/k"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$K/optee-signing-key.pem" 2>/dev/null
chmod 600 "$K/optee-signing-key.pem"
openssl pkey -in "$K/optee-signing-key.pem" -pubout -out "$T/k/pub.pem"

token_init
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:3072 -out "$T/k/tok.pem" 2>/dev/null
openssl pkey -in "$T/k/tok.pem" -pubout -out "$T/k/tok.pub.pem"
token_add_rsa "$T/k/tok.pem" optee-ta 07
srv_start

U1=8aaaf200-2450-11e4-abe2-0002a5d5c51b
U2=5b9e0e40-2636-11e1-ad9e-0002a5d5c51b
W=$T/work
mkdir -p "$W/in/ta" "$W/in/doc"
cd "$W"
head -c 6000 /dev/urandom > "in/ta/$U1.stripped.elf"
printf '0x10\n' > "in/ta/$U1.ta-version"
head -c 777 /dev/urandom > "in/$U2.stripped.elf"
echo "not a TA" > in/doc/README
tar -C in -czf tas.tar.gz ta "$U2.stripped.elf" doc

post() {
	local out=$1 art=$2
	shift 2
	curl --silent --output "$out" --write-out '%{http_code}' -X POST \
		-F "artifact=@$art" "$@" "$URL/sign/optee" || true
}

# check_out TARBALL PUBKEY SIGSIZE DIR: names, layout, digest and signature of both TAs
check_out() {
	local tgz=$1 pub=$2 ss=$3 d=$4
	rm -rf "$d"
	mkdir -p "$d"
	tar -C "$d" -xzf "$tgz"
	local names
	names=$(cd "$d" && find . -type f | sort | tr '\n' ' ')
	[ "$names" = "./$U2.ta ./doc/README ./ta/$U1.ta " ] || srv_fail "output members: $names"
	cmp -s "$d/doc/README" in/doc/README || srv_fail "README changed"
	python3 "$CHECK" "$d/ta/$U1.ta" "in/ta/$U1.stripped.elf" 0x10 "$ss" "$d/h1" "$d/s1" ||
		srv_fail "TA $U1 layout"
	python3 "$CHECK" "$d/$U2.ta" "in/$U2.stripped.elf" 0 "$ss" "$d/h2" "$d/s2" ||
		srv_fail "TA $U2 layout"
	for i in 1 2; do
		openssl pkeyutl -verify -pubin -inkey "$pub" -sigfile "$d/s$i" -in "$d/h$i" \
			-pkeyopt digest:sha256 -pkeyopt rsa_padding_mode:pss \
			-pkeyopt rsa_pss_saltlen:32 -pkeyopt rsa_mgf1_md:sha256 >/dev/null ||
			srv_fail "TA $i: PSS signature does not verify"
	done
}

# 1. file key
code=$(post signed.tar.gz tas.tar.gz -F machine=qemuarm64)
[ "$code" = 200 ] || srv_fail "optee signing: $code $(head -c 300 signed.tar.gz)"
check_out signed.tar.gz "$T/k/pub.pem" 256 "$W/o1"
#    the digests are in the job record
grep -q "$(xxd -p -c 64 "$W/o1/h1")" "$SRV_LOG" || srv_fail "TA digest not in the job record"
#    tampered copies: image byte -> digest mismatch; signature byte -> pkeyutl rejects
flip "$W/o1/ta/$U1.ta" 400 "$W/bad.ta"
mkdir -p "$W/tamper" && cp "$W/bad.ta" "$W/tamper/$U1.ta"
! python3 "$CHECK" "$W/tamper/$U1.ta" "in/ta/$U1.stripped.elf" 0x10 256 "$W/th" "$W/ts" 2>/dev/null ||
	srv_fail "tampered image passes the layout check"
flip "$W/o1/s1" 5 "$W/bad.sig"
! openssl pkeyutl -verify -pubin -inkey "$T/k/pub.pem" -sigfile "$W/bad.sig" -in "$W/o1/h1" \
	-pkeyopt digest:sha256 -pkeyopt rsa_padding_mode:pss -pkeyopt rsa_pss_saltlen:32 \
	-pkeyopt rsa_mgf1_md:sha256 >/dev/null 2>&1 || srv_fail "tampered signature verifies"
! openssl pkeyutl -verify -pubin -inkey "$T/k/tok.pub.pem" -sigfile "$W/o1/s1" -in "$W/o1/h1" \
	-pkeyopt digest:sha256 -pkeyopt rsa_padding_mode:pss -pkeyopt rsa_pss_saltlen:32 \
	-pkeyopt rsa_mgf1_md:sha256 >/dev/null 2>&1 || srv_fail "signature verifies under another key"

# 2. token key (RSA-3072: 384-byte signatures)
code=$(post tok.tar.gz tas.tar.gz -F machine=qemuarm64 -F backend=pkcs11 \
	--form-string "key-uri=pkcs11:token=YubiHSM;object=optee-ta;type=private;pin-value=password")
[ "$code" = 200 ] || srv_fail "optee token signing: $code $(head -c 300 tok.tar.gz)"
check_out tok.tar.gz "$T/k/tok.pub.pem" 384 "$W/o2"

# 3. bad inputs
bad() {
	local want=$1 msg=$2 art=$3 code
	shift 3
	code=$(post body.txt "$art" -F machine=qemuarm64 "$@")
	[ "$code" = "$want" ] || srv_fail "$art $*: status $code, expected $want ($(head -c 300 body.txt))"
	grep -qF -- "$msg" body.txt || srv_fail "$art: body '$(head -c 300 body.txt)' lacks '$msg'"
	! grep -q "$TEST_PIN" body.txt || srv_fail "PIN in an answer"
}
mkdir -p b1 b2 b3 b4 b5 b6
head -c 10 /dev/urandom > b1/hello.stripped.elf
tar -C b1 -czf nonuuid.tar.gz hello.stripped.elf
bad 400 "hello.stripped.elf" nonuuid.tar.gz
cp "in/$U2.stripped.elf" b2/ && echo "one" > "b2/$U2.ta-version"
tar -C b2 -czf badver.tar.gz .
bad 400 "$U2.ta-version" badver.tar.gz
cp "in/$U2.stripped.elf" b3/ && echo "4294967296" > "b3/$U2.ta-version"
tar -C b3 -czf bigver.tar.gz .
bad 400 "$U2.ta-version" bigver.tar.gz
tar -C b4 -czf empty.tar.gz .
bad 400 "no TA image" empty.tar.gz
echo "x" > b5/README
tar -C b5 -czf nota.tar.gz README
bad 400 "no TA image" nota.tar.gz
code=$(post body.txt tas.tar.gz -F machine=nokeys)
[ "$code" = 404 ] && grep -qF "nokeys/opteesign/optee-signing-key.pem" body.txt ||
	srv_fail "missing key: $code $(cat body.txt)"
printf 'not a tarball' > junk.tar.gz
code=$(post body.txt junk.tar.gz -F machine=qemuarm64)
case "$code" in 4*) grep -q "^artifact" body.txt || srv_fail "junk archive: $(cat body.txt)";;
*) srv_fail "junk archive: $code";; esac
cp "in/$U2.stripped.elf" b6/
tar -C b6 -czf dotdot.tar.gz --transform "s|^|../|" "$U2.stripped.elf"
code=$(post body.txt dotdot.tar.gz -F machine=qemuarm64)
[ "$code" = 400 ] && grep -q "\.\./" body.txt || srv_fail "../ member: $code $(cat body.txt)"
#    a gzip bomb (64 MiB of zeros in ~64 KiB) is refused with 413 before it is unpacked
mkdir -p b7 && truncate -s 64M "b7/$U2.stripped.elf"
tar -C b7 -czf bomb.tar.gz "$U2.stripped.elf"
code=$(post body.txt bomb.tar.gz -F machine=qemuarm64)
[ "$code" = 413 ] || srv_fail "gzip bomb: $code $(cat body.txt)"
code=$(post body.txt tas.tar.gz -F machine=qemuarm64 -F backend=pkcs11 \
	--form-string "key-uri=pkcs11:token=YubiHSM;object=optee-ta;pin-value=$TEST_PIN")
[ "$code" = 400 ] || srv_fail "client PIN: $code"
srv_healthy
srv_spool_empty
srv_log_clean
srv_stop

# 4. offline
"$BS_BIN" sign optee --keys "$T/keys" --machine qemuarm64 tas.tar.gz -o cli.tar.gz ||
	srv_fail "bootsign sign optee failed"
check_out cli.tar.gz "$T/k/pub.pem" 256 "$W/o3"
rc=0
"$BS_BIN" sign optee --keys "$T/keys" --machine qemuarm64 nonuuid.tar.gz -o none.tar.gz \
	2> cli.err || rc=$?
[ "$rc" != 0 ] && [ ! -e none.tar.gz ] && grep -q "hello.stripped.elf" cli.err ||
	srv_fail "CLI with a non-UUID TA: rc $rc, $(cat cli.err)"
echo "optee e2e: ok"
