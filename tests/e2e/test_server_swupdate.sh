#!/usr/bin/env bash
# POST /sign/swupdate as digsigserver's clients send it: sw-description.sig for RSA
# (PKCS#1 v1.5), RSA-PSS and CMS, with key-store files and with SoftHSM2 token keys
# (backend=pkcs11, key-uri with the pin-value=password placeholder, PIN from the server's
# environment). Checked by tools sharing no code with bootsign: openssl dgst / pkeyutl /
# cms, and swupdate -c on a .swu assembled here (cpio newc: sw-description first, .sig
# second); each with a tampered copy that the oracle rejects. Bad inputs get a 4xx naming
# the field or key file, the server stays up, the spool ends empty, the PIN is never
# logged; `bootsign sign swupdate` gives the same answers offline.
set -euo pipefail
. "$BS_SRCDIR/tests/e2e/lib/common.sh"
. "$BS_SRCDIR/tests/e2e/lib/server_common.sh"
. "$BS_SRCDIR/tests/e2e/lib/token.sh"
srv_setup
TEST_PIN=0001password
command -v swupdate >/dev/null || srv_fail "swupdate missing (scripts/deps.sh test installs it)"
command -v cpio >/dev/null || srv_fail "cpio missing (scripts/deps.sh test installs it)"

# --- key store: <keys>/poky/swupdate/{rsa-private.key,cms.cert,cms-private.key} ---------
D=$T/keys/poky/swupdate
mkdir -p "$D" "$T/keys/nokeys/swupdate" "$T/keys/hsmonly/swupdate" "$T/k"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$D/rsa-private.key" 2>/dev/null
openssl pkey -in "$D/rsa-private.key" -pubout -out "$T/k/rsa-public.pem"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$D/cms-private.key" -out "$D/cms.cert" \
	-subj "/O=bootsign e2e/CN=swupdate signer" -days 30 2>/dev/null
chmod 600 "$D"/*.key

# --- token: label YubiHSM, PIN 0001password; swu-rsa, swu-cms (the store's CMS key + cert) --
token_init
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/k/tok-rsa.pem" 2>/dev/null
openssl pkey -in "$T/k/tok-rsa.pem" -pubout -out "$T/k/tok-rsa.pub.pem"
token_add_rsa "$T/k/tok-rsa.pem" swu-rsa 01
token_add_rsa "$D/cms-private.key" swu-cms 02 "$D/cms.cert"
srv_start

# --- client: a sw-description naming one image by its sha256 ------------------------------
C=$T/swu
mkdir -p "$C" "$T/swutmp"
head -c 4096 /dev/urandom > "$C/rootfs.img"
cat > "$C/sw-description" <<SWD
software =
{
	version = "1.0.0";
	hardware-compatibility: [ "1.0" ];
	images: (
		{
			filename = "rootfs.img";
			device = "/dev/null";
			type = "raw";
			sha256 = "$(sha256sum "$C/rootfs.img" | cut -d' ' -f1)";
		}
	);
}
SWD
cd "$C"
DGST=$(sha256sum sw-description | cut -d' ' -f1)

# post OUT field... : POST /sign/swupdate, the status code on stdout
post() {
	local out=$1
	shift
	curl --silent --output "$out" --write-out '%{http_code}' -X POST \
		-F "sw-description=@sw-description" "$@" "$URL/sign/swupdate" || true
}
ok() {
	local out=$1 code
	code=$(post "$@")
	[ "$code" = 200 ] || srv_fail "$*: status $code ($(head -c 300 "$out"))"
}

# swupdate_check SIG CERT WANT(0|1): a .swu (newc: sw-description, its .sig, the image)
# checked by swupdate -c. Its verdict is read from its log: the Debian build's exit status
# is not reliable (a helper process racing the exit makes a successful check exit 1 now
# and then), its messages are.
swupdate_check() {
	local sig=$1 cert=$2 want=$3 w verdict=bad
	w=$(mktemp -d "$T/swuXXXX")
	cp sw-description rootfs.img "$w/"
	cp "$sig" "$w/sw-description.sig"
	(cd "$w" && printf 'sw-description\nsw-description.sig\nrootfs.img\n' |
		cpio --quiet -o -H newc > x.swu)
	TMPDIR=$T/swutmp swupdate -v -H e2e:1.0 -c -i "$w/x.swu" -k "$cert" > "$w/log.txt" 2>&1 || true
	if grep -q "Verified OK" "$w/log.txt" && grep -q "SWUpdate was successful" "$w/log.txt" &&
		! grep -q "SWUPDATE failed" "$w/log.txt"; then
		verdict=ok
	elif ! grep -q "SWUPDATE failed" "$w/log.txt"; then
		srv_fail "swupdate gave no verdict on $sig: $(tail -n 5 "$w/log.txt")"
	fi
	[ "$want" = 0 ] && [ "$verdict" != ok ] &&
		srv_fail "swupdate rejected $sig: $(grep -i 'error\|fail' "$w/log.txt" | head -n 3)"
	[ "$want" != 0 ] && [ "$verdict" = ok ] && srv_fail "swupdate accepted the tampered $sig"
	rm -rf "$w"
}

# pss_check SIG PUB: RSASSA-PSS, SHA-256, MGF1-SHA-256, salt = max (222 for RSA-2048)
pss_check() {
	openssl dgst -sha256 -binary sw-description > d.bin
	openssl pkeyutl -verify -pubin -inkey "$2" -sigfile "$1" -in d.bin -pkeyopt digest:sha256 \
		-pkeyopt rsa_padding_mode:pss -pkeyopt rsa_pss_saltlen:222 \
		-pkeyopt rsa_mgf1_md:sha256 >/dev/null || srv_fail "PSS signature $1 does not verify"
	flip "$1" 17 bad.sig
	! openssl pkeyutl -verify -pubin -inkey "$2" -sigfile bad.sig -in d.bin \
		-pkeyopt digest:sha256 -pkeyopt rsa_padding_mode:pss -pkeyopt rsa_pss_saltlen:auto \
		>/dev/null 2>&1 || srv_fail "tampered PSS signature verifies"
}

# flip_desc: sw-description with one byte changed, as tampered.desc
flip_desc() { flip sw-description 40 tampered.desc; }
flip_desc

# 1. RSA (method absent = RSA): identical to openssl dgst -sha256 -sign
ok rsa.sig -F distro=poky
openssl dgst -sha256 -sign "$D/rsa-private.key" -out ref.sig sw-description
cmp -s rsa.sig ref.sig || srv_fail "RSA signature differs from openssl dgst -sha256 -sign"
openssl dgst -sha256 -verify "$T/k/rsa-public.pem" -signature rsa.sig sw-description >/dev/null ||
	srv_fail "RSA signature does not verify"
! openssl dgst -sha256 -verify "$T/k/rsa-public.pem" -signature rsa.sig tampered.desc \
	>/dev/null 2>&1 || srv_fail "RSA signature verifies over a tampered sw-description"
ok rsa2.sig -F distro=poky -F method=RSA -F backend=ssl
cmp -s rsa2.sig ref.sig || srv_fail "explicit method=RSA differs"
grep -q "$DGST" "$SRV_LOG" || srv_fail "sw-description digest not in the job record"

# 2. RSA-PSS
ok pss.sig -F distro=poky -F method=RSA-PSS
pss_check pss.sig "$T/k/rsa-public.pem"

# 3. CMS: openssl cms -verify and swupdate -c on a .swu
ok cms.sig -F distro=poky -F method=CMS
openssl cms -verify -binary -inform DER -in cms.sig -content sw-description \
	-CAfile "$D/cms.cert" -purpose any -out /dev/null 2>/dev/null || srv_fail "CMS does not verify"
! openssl cms -verify -binary -inform DER -in cms.sig -content tampered.desc \
	-CAfile "$D/cms.cert" -purpose any -out /dev/null 2>/dev/null || srv_fail "CMS verifies tampered"
openssl cms -cmsout -print -inform DER -in cms.sig > cms.txt
grep -q "signingTime" cms.txt && ! grep -qi "SMIMECapabilities\|sMIMECapabilities" cms.txt ||
	srv_fail "CMS attributes are not openssl cms -nosmimecap's"
grep -q "CN=swupdate signer" cms.txt || srv_fail "CMS lacks the signer certificate"
swupdate_check cms.sig "$D/cms.cert" 0
flip cms.sig 400 cms-bad.sig
swupdate_check cms-bad.sig "$D/cms.cert" 1

# 4. Token keys (backend=pkcs11, key-uri with the placeholder; type=private as openssl's
#    engine URIs in digsigserver recipes have it)
U="pkcs11:token=YubiHSM;object=swu-rsa;type=private;pin-value=password"
ok tok-rsa.sig -F distro=poky -F backend=pkcs11 --form-string "key-uri=$U"
openssl dgst -sha256 -sign "$T/k/tok-rsa.pem" -out tok-ref.sig sw-description
cmp -s tok-rsa.sig tok-ref.sig || srv_fail "token RSA signature differs from openssl's"
ok tok-pss.sig -F distro=poky -F backend=pkcs11 -F method=RSA-PSS --form-string "key-uri=$U"
pss_check tok-pss.sig "$T/k/tok-rsa.pub.pem"
U="pkcs11:token=YubiHSM;object=swu-cms;type=private;pin-value=password"
ok tok-cms.sig -F distro=poky -F backend=pkcs11 -F method=CMS --form-string "key-uri=$U"
swupdate_check tok-cms.sig "$D/cms.cert" 0
#    no cms.cert in the store: the certificate comes from the token (type=cert)
ok tok-cms2.sig -F distro=hsmonly -F backend=pkcs11 -F method=CMS --form-string "key-uri=$U"
swupdate_check tok-cms2.sig "$D/cms.cert" 0
grep -q "keys=.*swu-cms" "$SRV_LOG" || srv_fail "token key id not in the job record"

# 5. Bad inputs: 4xx naming the problem, server up
bad() {
	local want=$1 msg=$2 code
	shift 2
	code=$(post body.txt "$@")
	[ "$code" = "$want" ] || srv_fail "$*: status $code, expected $want ($(head -c 300 body.txt))"
	grep -qF -- "$msg" body.txt || srv_fail "$*: body '$(head -c 300 body.txt)' lacks '$msg'"
}
bad 400 "method" -F distro=poky -F method=ECDSA
bad 400 "method" -F distro=poky -F method=rsa
bad 404 "nokeys/swupdate/rsa-private.key" -F distro=nokeys
bad 404 "nokeys/swupdate/cms.cert" -F distro=nokeys -F method=CMS
bad 404 "nosuchdistro" -F distro=nosuchdistro
bad 400 "distro" -F distro=../poky
bad 400 "key-uri" -F distro=poky -F backend=pkcs11
bad 400 "key-uri" -F distro=poky --form-string "key-uri=$U"
bad 400 "backend" -F distro=poky -F backend=yubihsm
bad 400 "pin" -F distro=poky -F backend=pkcs11 \
	--form-string "key-uri=pkcs11:token=YubiHSM;object=swu-rsa;type=private;pin-value=$TEST_PIN"
code=$(curl --silent --output body.txt --write-out '%{http_code}' -X POST -F distro=poky \
	"$URL/sign/swupdate") || true
[ "$code" = 400 ] && grep -q "sw-description" body.txt || srv_fail "missing sw-description: $code"
srv_healthy
srv_spool_empty
srv_log_clean
! grep -q "$TEST_PIN" body.txt || srv_fail "PIN echoed to the client"
srv_stop

# 6. Offline: bootsign sign swupdate (the same job)
"$BS_BIN" sign swupdate --keys "$T/keys" --distro poky sw-description -o cli.sig ||
	srv_fail "bootsign sign swupdate failed"
cmp -s cli.sig ref.sig || srv_fail "CLI RSA signature differs from openssl's"
"$BS_BIN" sign swupdate --keys "$T/keys" --distro poky --field method=CMS sw-description \
	-o cli-cms.sig || srv_fail "bootsign sign swupdate CMS failed"
swupdate_check cli-cms.sig "$D/cms.cert" 0
rc=0
"$BS_BIN" sign swupdate --keys "$T/keys" --distro nokeys sw-description -o none.sig \
	2> cli.err || rc=$?
[ "$rc" != 0 ] && [ ! -e none.sig ] && grep -q "nokeys/swupdate/rsa-private.key" cli.err ||
	srv_fail "CLI with a missing key: rc $rc, $(cat cli.err)"
echo "swupdate e2e: ok"
