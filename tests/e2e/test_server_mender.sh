#!/usr/bin/env bash
# POST /sign/mender: an artifact built here by `mender-artifact write rootfs-image`, signed
# in place through artifact-uri (answer "Signing successful", as digsigserver) and as an
# upload (answer: the signed artifact), with an RSA file key, an ECDSA P-256 file key and a
# SoftHSM2 token key; `mender-artifact validate -k` (the oracle, no bootsign code) accepts
# each result under the right public key, rejects it under another, and every member but
# manifest.sig is byte-identical to the input. The mender_artifact_root rules (outside,
# "..", symlink out, other schemes, no root configured) each answer a 4xx naming the reason
# with the file unchanged (cmp). A write failing in the middle of the write-back (the
# kernel's file-size limit, RLIMIT_FSIZE set on the running server with prlimit: write(2)
# fails with EFBIG part-way through the new file, as on a full disk) and an artifact
# found damaged after part of it was written both leave the original byte-for-byte intact
# and no temporary file behind. The PIN appears in no log or answer. `bootsign sign
# mender` offline too.
set -euo pipefail
. "$BS_SRCDIR/tests/e2e/lib/common.sh"
. "$BS_SRCDIR/tests/e2e/lib/server_common.sh"
. "$BS_SRCDIR/tests/e2e/lib/token.sh"
command -v mender-artifact >/dev/null || fail "mender-artifact missing (scripts/deps.sh test installs it)"
srv_setup
TEST_PIN=0001password
ART=$T/artifacts
W=$T/work
mkdir -p "$ART/sub" "$W" "$T/k"
echo "mender_artifact_root = $ART" >> "$T/server.conf"

# keys: RSA (PKCS#1 PEM) for distro "poky", EC P-256 (SEC1 PEM) for "ecdistro", a token key
K=$T/keys/poky/mender
mkdir -p "$K" "$T/keys/ecdistro/mender"
openssl genrsa -traditional -out "$K/private.key" 2048 2>/dev/null
openssl ecparam -name prime256v1 -genkey -noout -out "$T/keys/ecdistro/mender/private.key"
chmod 600 "$K/private.key" "$T/keys/ecdistro/mender/private.key"
openssl pkey -in "$K/private.key" -pubout -out "$T/k/rsa.pub"
openssl pkey -in "$T/keys/ecdistro/mender/private.key" -pubout -out "$T/k/ec.pub"
openssl genrsa -traditional -out "$T/k/other.key" 2048 2>/dev/null
openssl pkey -in "$T/k/other.key" -pubout -out "$T/k/other.pub"
token_init
openssl genrsa -traditional -out "$T/k/tok.key" 3072 2>/dev/null
openssl pkey -in "$T/k/tok.key" -pubout -out "$T/k/tok.pub"
token_add_rsa "$T/k/tok.key" mender-key 0a
trap '' XFSZ # inherited by the server: a write past RLIMIT_FSIZE fails with EFBIG
srv_start

cd "$W"
head -c 1048576 /dev/urandom > rootfs.ext4
mender-artifact write rootfs-image -t beaglebone -n release-1 -f rootfs.ext4 -o in.mender \
	>/dev/null 2>&1 || fail "mender-artifact write"
mender-artifact validate in.mender >/dev/null 2>&1 || fail "the input does not validate"

# accepts FILE PUB: validates under PUB, not under another key; members but manifest.sig
# unchanged
accepts() {
	mender-artifact validate -k "$2" "$1" >/dev/null 2>&1 ||
		srv_fail "$1: mender-artifact validate rejects it under $2"
	! mender-artifact validate -k "$T/k/other.pub" "$1" >/dev/null 2>&1 ||
		srv_fail "$1: validates under another key"
	local names m
	names=$(tar tf "$1" | tr '\n' ' ')
	[ "$names" = "version manifest manifest.sig header.tar.gz data/0000.tar.gz " ] ||
		srv_fail "$1: members $names"
	for m in version manifest header.tar.gz data/0000.tar.gz; do
		cmp -s <(tar xOf in.mender "$m") <(tar xOf "$1" "$m") || srv_fail "$1: $m changed"
	done
}

# post OUT [curl args...]: status code
post() {
	local out=$1
	shift
	curl --silent --output "$out" --write-out '%{http_code}' -X POST "$@" \
		"$URL/sign/mender" || true
}

no_temp() {
	local left
	left=$(find "$ART" -name '.bootsign-*')
	[ -z "$left" ] || srv_fail "temporary file left: $left"
}

# 1. artifact-uri, RSA file key: signed in place
cp in.mender "$ART/sub/a.mender"
code=$(post body.txt -F distro=poky --form-string "artifact-uri=file://$ART/sub/a.mender")
[ "$code" = 200 ] || srv_fail "artifact-uri: $code $(head -c 300 body.txt)"
[ "$(cat body.txt)" = "Signing successful" ] || srv_fail "answer: $(cat body.txt)"
accepts "$ART/sub/a.mender" "$T/k/rsa.pub"
no_temp
grep -q "$(tar xOf in.mender manifest | sha256sum | cut -c1-64)" "$SRV_LOG" ||
	srv_fail "the manifest digest is not in the job record"
#    signing a signed artifact again replaces its signature (here with the EC key)
code=$(post body.txt -F distro=ecdistro --form-string "artifact-uri=file://$ART/sub/a.mender")
[ "$code" = 200 ] || srv_fail "re-sign: $code $(head -c 300 body.txt)"
accepts "$ART/sub/a.mender" "$T/k/ec.pub"

# 2. uploaded artifact: the answer is the signed artifact (ECDSA P-256, then RSA)
code=$(post up-ec.mender -F distro=ecdistro -F "artifact=@in.mender")
[ "$code" = 200 ] || srv_fail "upload: $code $(head -c 300 up-ec.mender)"
accepts up-ec.mender "$T/k/ec.pub"
[ "$(tar xOf up-ec.mender manifest.sig | base64 -d | wc -c)" = 64 ] ||
	srv_fail "ECDSA manifest.sig is not r||s (64 bytes)"
code=$(post up-rsa.mender -F distro=poky -F "artifact=@in.mender")
[ "$code" = 200 ] || srv_fail "upload: $code"
accepts up-rsa.mender "$T/k/rsa.pub"

# 3. token key (backend=pkcs11, key-uri with the placeholder PIN), upload and in place
KEY_URI="pkcs11:token=YubiHSM;object=mender-key;type=private;pin-value=password"
code=$(post up-tok.mender -F distro=poky -F backend=pkcs11 --form-string "key-uri=$KEY_URI" \
	-F "artifact=@in.mender")
[ "$code" = 200 ] || srv_fail "token upload: $code $(head -c 300 up-tok.mender)"
accepts up-tok.mender "$T/k/tok.pub"
cp in.mender "$ART/tok.mender"
code=$(post body.txt -F distro=poky -F backend=pkcs11 --form-string "key-uri=$KEY_URI" \
	--form-string "artifact-uri=file://$ART/tok.mender")
[ "$code" = 200 ] || srv_fail "token artifact-uri: $code $(head -c 300 body.txt)"
accepts "$ART/tok.mender" "$T/k/tok.pub"

# 4. the allowed root: each refusal is a 4xx naming the reason, the file unchanged
refused() {
	local want=$1 msg=$2 file=$3 uri=$4 code
	cp "$file" "$W/before"
	code=$(post body.txt -F distro=poky --form-string "artifact-uri=$uri")
	[ "$code" = "$want" ] || srv_fail "$uri: status $code, expected $want ($(cat body.txt))"
	grep -qF -- "$msg" body.txt || srv_fail "$uri: '$(cat body.txt)' lacks '$msg'"
	cmp -s "$file" "$W/before" || srv_fail "$uri: $file was changed"
	! grep -q "$TEST_PIN" body.txt || srv_fail "PIN in an answer"
}
cp in.mender "$T/outside.mender"
cp in.mender "$ART/sub/b.mender"
ln -s "$T/outside.mender" "$ART/sub/link.mender"
ln -s "$T" "$ART/escape"
refused 400 "is outside mender_artifact_root" "$T/outside.mender" "file://$T/outside.mender"
refused 400 '".." is refused' "$T/outside.mender" "file://$ART/sub/../../outside.mender"
refused 400 '"sub/link.mender" is a symlink' "$T/outside.mender" "file://$ART/sub/link.mender"
refused 400 '"escape" is a symlink' "$T/outside.mender" "file://$ART/escape/outside.mender"
refused 400 "only file:// URIs" "$ART/sub/b.mender" "s3://bucket/sub/b.mender"
refused 404 "sub/none.mender" "$ART/sub/b.mender" "file://$ART/sub/none.mender"
# a FIFO (or device) is never opened: that would hold a server thread until someone writes
mkfifo "$ART/sub/fifo.mender"
code=$(curl --silent --max-time 10 -o body.txt -w '%{http_code}' -X POST -F distro=poky \
	--form-string "artifact-uri=file://$ART/sub/fifo.mender" "$URL/sign/mender")
[ "$code" = 400 ] && grep -q '"sub/fifo.mender" is not a regular file' body.txt ||
	srv_fail "FIFO under the root: $code $(cat body.txt)"
rm -f "$ART/sub/fifo.mender"
code=$(post body.txt -F distro=poky -F "artifact=@in.mender" \
	--form-string "artifact-uri=file://$ART/sub/b.mender")
[ "$code" = 400 ] && grep -q "either artifact-uri" body.txt || srv_fail "both fields: $code"
code=$(post body.txt -F distro=poky)
[ "$code" = 400 ] && grep -q "either artifact-uri" body.txt || srv_fail "no artifact: $code"
#    not an artifact / damaged artifact (found after part of the new file was written)
cp in.mender "$ART/sub/c.mender"
mkdir -p dmg && (cd dmg && tar xf ../in.mender && echo x >> header.tar.gz &&
	tar --format=ustar -cf "$ART/sub/d.mender" version manifest header.tar.gz data/0000.tar.gz)
refused 400 "SHA-256 differs from the manifest" "$ART/sub/d.mender" "file://$ART/sub/d.mender"
head -c 5000 /dev/urandom > "$ART/sub/junk.mender"
refused 400 "artifact-uri" "$ART/sub/junk.mender" "file://$ART/sub/junk.mender"
no_temp

# 5. a write failing in the middle of the write-back: files of this server may not grow
#    past 256 KiB (RLIMIT_FSIZE); the new artifact is ~1 MiB
prlimit --pid "$SRV_PID" --fsize=262144: || srv_fail "prlimit"
cp "$ART/sub/c.mender" before
code=$(post body.txt -F distro=poky --form-string "artifact-uri=file://$ART/sub/c.mender")
[ "$code" = 500 ] || srv_fail "write-back past the size limit: $code $(cat body.txt)"
grep -q "writing the new sub/c.mender: File too large" "$SRV_LOG" ||
	srv_fail "the log does not name the failed write"
cmp -s "$ART/sub/c.mender" before || srv_fail "the original changed after a failed write-back"
no_temp
prlimit --pid "$SRV_PID" --fsize=unlimited:
code=$(post body.txt -F distro=poky --form-string "artifact-uri=file://$ART/sub/c.mender")
[ "$code" = 200 ] || srv_fail "after lifting the limit: $code $(cat body.txt)"
accepts "$ART/sub/c.mender" "$T/k/rsa.pub"

# 6. no root configured: every artifact-uri is refused, naming the setting
srv_stop
sed -i '/^mender_artifact_root/d' "$T/server.conf"
srv_start
refused 400 "no mender_artifact_root configured" "$ART/sub/b.mender" "file://$ART/sub/b.mender"
code=$(post up2.mender -F distro=poky -F "artifact=@in.mender")
[ "$code" = 200 ] || srv_fail "upload without a root: $code"
accepts up2.mender "$T/k/rsa.pub"
srv_healthy
srv_stop
srv_log_clean
srv_spool_empty

# 7. offline: bootsign sign mender
"$BS_BIN" sign mender --keys "$T/keys" --distro ecdistro in.mender -o cli.mender ||
	fail "bootsign sign mender"
accepts cli.mender "$T/k/ec.pub"
echo "ok"
