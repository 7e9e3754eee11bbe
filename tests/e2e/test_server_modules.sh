#!/usr/bin/env bash
# POST /sign/modules through the running server, checked by tools that share no code with
# bootsign: every signed .ko is byte-compared with the kernel's own scripts/sign-file
# (Debian linux-kbuild-6.1) run here on the same input and key, and the split trailer is
# verified with `openssl cms -verify` (a tampered copy must fail). The tree comes back
# with the same names, order, modes and non-module files. Also: a SoftHSM2 token key
# (label YubiHSM, PIN from the server's environment), hostile archives (4xx naming the
# member, server still up, spool and scratch empty, no PIN logged) and the CLI.
#
# The modules are synthetic: an ELF header followed by random bytes, named .ko. sign-file
# does not parse the module (it hashes the file and appends), so it is as good an oracle
# on these as on a real module, and the test needs no kernel headers.
set -euo pipefail
. "$BS_SRCDIR/tests/e2e/lib/server_common.sh"
. "$BS_SRCDIR/tests/e2e/lib/common.sh"
SIGN_FILE=/usr/lib/linux-kbuild-6.1/scripts/sign-file
[ -x "$SIGN_FILE" ] || fail "$SIGN_FILE missing (scripts/deps.sh test installs linux-kbuild-6.1)"
TEST_PIN=0001password
srv_setup
mkdir -p "$T/tmp" "$T/w"
export TMPDIR=$T/tmp   # job scratch lives in the spool; nothing may land in TMPDIR either

# Keys: m1 has a PEM key and a DER certificate, m2 a DER key and a PEM certificate.
K=$T/keys
mkdir -p "$K/m1/kmodsign" "$K/m2/kmodsign" "$T/ref"
openssl genpkey -quiet -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/ref/key.pem"
openssl req -new -x509 -batch -days 3650 -subj "/CN=bootsign e2e module key" \
	-key "$T/ref/key.pem" -out "$T/ref/cert.pem"
openssl x509 -in "$T/ref/cert.pem" -outform DER -out "$T/ref/cert.der"
cp "$T/ref/key.pem" "$K/m1/kmodsign/kernel-signkey.priv"
cp "$T/ref/cert.der" "$K/m1/kmodsign/kernel-signkey.x509"
openssl pkey -in "$T/ref/key.pem" -outform DER -out "$K/m2/kmodsign/kernel-signkey.priv"
cp "$T/ref/cert.pem" "$K/m2/kmodsign/kernel-signkey.x509"
# another key, to pre-sign one module (it must come back re-signed with ours)
openssl req -new -x509 -batch -days 3650 -subj "/CN=old key" -newkey rsa:2048 -nodes \
	-keyout "$T/ref/old.pem" -out "$T/ref/old.crt" 2>/dev/null

# The tree: modules at several depths, one already signed, non-module files with their
# own modes, an empty directory.
TREE=$T/tree
R=lib/modules/6.1.0-e2e
mkdir -p "$TREE/$R/kernel/drivers/net" "$TREE/$R/kernel/fs/ext4" "$TREE/$R/extra/empty"
mkmod() { { printf '\177ELF\002\001\001\000'; head -c "$2" /dev/urandom; } > "$1"; }
mkmod "$TREE/$R/kernel/drivers/net/e1000e.ko" 150000
mkmod "$TREE/$R/kernel/fs/ext4/ext4.ko" 70000
mkmod "$TREE/$R/extra/tiny.ko" 10
mkmod "$TREE/$R/extra/resigned.ko" 30000
cp "$TREE/$R/extra/resigned.ko" "$T/ref/resigned.unsigned"
"$SIGN_FILE" sha256 "$T/ref/old.pem" "$T/ref/old.crt" "$TREE/$R/extra/resigned.ko"
printf 'kernel/fs/ext4/ext4.ko:\n' > "$TREE/$R/modules.dep"
printf 'alias fs-ext4 ext4\n' > "$TREE/$R/modules.alias"
chmod 0600 "$TREE/$R/modules.alias"
chmod 0750 "$TREE/$R/extra"
printf 'not a module\n' > "$TREE/$R/extra/readme.ko.txt"
tar -C "$TREE" -czf "$T/w/modules.tar.gz" .

# unpack_to ARCHIVE DIR
unpack_to() { rm -rf "$2"; mkdir -p "$2"; tar -C "$2" -xzf "$1"; }
# sign_ref HASH MODULE OUT: sign-file's answer for MODULE (unsigned bytes)
sign_ref() { cp "$2" "$3"; "$SIGN_FILE" "$1" "$T/ref/key.pem" "$T/ref/cert.der" "$3"; }

# check_tree OUT.tgz HASH: listing, modes and non-module bytes as sent; every .ko equal to
# sign-file's output on the unsigned module.
check_tree() {
	local out=$1 hash=$2 d=$T/w/check
	python3 - "$T/w/modules.tar.gz" "$out" <<'PY' || fail "tree changed"
import sys, tarfile
a, b = (tarfile.open(p, "r:gz").getmembers() for p in sys.argv[1:3])
assert [m.name for m in a] == [m.name for m in b], "names or order differ"
for x, y in zip(a, b):
    assert (x.type, x.mode, x.mtime) == (y.type, y.mode, y.mtime), x.name
    if not x.name.endswith(".ko"):
        assert x.size == y.size, x.name
PY
	unpack_to "$out" "$d"
	diff -r --exclude='*.ko' "$TREE" "$d" >/dev/null || fail "non-module files differ"
	local ko rel
	while IFS= read -r ko; do
		rel=${ko#"$TREE"/}
		if [ "$rel" = "$R/extra/resigned.ko" ]; then
			sign_ref "$hash" "$T/ref/resigned.unsigned" "$T/w/ref.ko"
		else
			sign_ref "$hash" "$ko" "$T/w/ref.ko"
		fi
		cmp -s "$T/w/ref.ko" "$d/$rel" || fail "$rel ($hash) differs from sign-file's"
	done < <(find "$TREE" -name '*.ko')
}

# split_verify MODULE CERT: openssl cms -verify over the module without its trailer; a
# copy with one module byte flipped must fail.
split_verify() {
	local m=$1 cert=$2 size siglen
	size=$(stat -c %s "$m")
	tail -c 28 "$m" | cmp -s - <(printf '~Module signature appended~\n') || fail "$m: no magic"
	siglen=$((16#$(tail -c 32 "$m" | head -c 4 | od -An -tx1 | tr -d ' \n')))
	[ "$(tail -c 40 "$m" | head -c 8 | od -An -tx1 | tr -d ' \n')" = 0000020000000000 ] ||
		fail "$m: module_signature record is not PKCS#7 with empty signer/key id"
	head -c $((size - 40 - siglen)) "$m" > "$T/w/content.bin"
	tail -c $((40 + siglen)) "$m" | head -c "$siglen" > "$T/w/p7.der"
	openssl cms -verify -binary -inform DER -in "$T/w/p7.der" -content "$T/w/content.bin" \
		-noverify -certfile "$cert" -out /dev/null 2>/dev/null ||
		fail "$m: openssl cms -verify rejects the signature"
	flip "$T/w/content.bin" 100 "$T/w/tampered.bin"
	! openssl cms -verify -binary -inform DER -in "$T/w/p7.der" -content "$T/w/tampered.bin" \
		-noverify -certfile "$cert" -out /dev/null 2>/dev/null ||
		fail "$m: a tampered module verifies"
}

srv_start
cd "$T/w"

# ---- file keys, each hash; the default is sha512 ----
for h in sha256 sha384 default; do
	hf=(-F "hashalg=$h"); hash=$h
	[ "$h" = default ] && { hf=(); hash=sha512; }
	curl --silent --show-error --fail-with-body -X POST -F machine=m1 "${hf[@]}" \
		-F artifact=@modules.tar.gz -o "signed-$h.tar.gz" "$URL/sign/modules" ||
		fail "sign ($h): $(cat "signed-$h.tar.gz")"
	check_tree "signed-$h.tar.gz" "$hash"
done
unpack_to signed-default.tar.gz "$T/w/s"
split_verify "$T/w/s/$R/kernel/drivers/net/e1000e.ko" "$T/ref/cert.pem"
split_verify "$T/w/s/$R/extra/resigned.ko" "$T/ref/cert.pem"
grep -q "resigned.ko: re-signed" "$SRV_LOG" || fail "re-signing not logged"
# the job record's digests (the request line shows the first): the first module's, over
# its bytes without a signature
first=$(tar -tzf modules.tar.gz | grep '\.ko$' | head -n1)
src=$TREE/${first#./}
[ "${first#./}" = "$R/extra/resigned.ko" ] && src=$T/ref/resigned.unsigned
dg=$(openssl dgst -sha512 -r "$src" | cut -d' ' -f1)
grep -q "signed=sha512:$dg" "$SRV_LOG" || fail "module digest of $first not in the job record"

# DER key + PEM certificate store: same bytes
curl --silent --fail-with-body -X POST -F machine=m2 -F hashalg=sha256 \
	-F artifact=@modules.tar.gz -o signed-m2.tar.gz "$URL/sign/modules" || fail "m2: $(cat signed-m2.tar.gz)"
check_tree signed-m2.tar.gz sha256

# a plain (not gzip'd) tar is read too
tar -C "$TREE" -cf modules.tar .
curl --silent --fail-with-body -X POST -F machine=m1 -F artifact=@modules.tar \
	-o signed-plain.tar.gz "$URL/sign/modules" || fail "plain tar: $(cat signed-plain.tar.gz)"
tar -tzf signed-plain.tar.gz >/dev/null || fail "answer to a plain tar is not a tar.gz"

# a missing key: 404 naming the store path
mkdir -p "$K/nokey/kmodsign"
code=$(curl --silent -o body.txt -w '%{http_code}' -X POST -F machine=nokey \
	-F artifact=@modules.tar.gz "$URL/sign/modules")
[ "$code" = 404 ] && grep -q 'nokey/kmodsign/kernel-signkey' body.txt ||
	fail "missing key: $code $(cat body.txt)"

# ---- hostile and bad inputs: 4xx naming the member or field ----
python3 - <<'PY'
import io, tarfile, gzip
def ti(name, kind=tarfile.REGTYPE, data=b"x", link=""):
    t = tarfile.TarInfo(name); t.type = kind; t.mtime = 1700000000; t.linkname = link
    t.size = len(data) if kind == tarfile.REGTYPE else 0
    return t, (io.BytesIO(data) if kind == tarfile.REGTYPE else None)
def write(fn, members):
    bio = io.BytesIO()
    with tarfile.open(fileobj=bio, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for m in members:
            tf.addfile(*m)
    open(fn, "wb").write(gzip.compress(bio.getvalue()))
def ok():
    return ti("./lib/ok.ko", data=b"\x7fELF" + b"\0" * 100)
write("bad-absolute.tgz", [ok(), ti("/lib/modules/evil.ko")])
write("bad-dotdot.tgz", [ok(), ti("lib/../../evil.ko")])
write("bad-symlink.tgz", [ok(), ti("lib/link.ko", tarfile.SYMTYPE, link="/etc/shadow")])
write("bad-hardlink.tgz", [ok(), ti("lib/hard.ko", tarfile.LNKTYPE, link="lib/ok.ko")])
write("bad-device.tgz", [ok(), ti("lib/sda", tarfile.BLKTYPE)])
write("bad-duplicate.tgz", [ok(), ti("lib/ok.ko", data=b"again")])
write("bad-empty.tgz", [])
write("bad-nomodules.tgz", [ti("lib/modules.dep", data=b"x"), ti("lib/a.ko.xz", data=b"y")])
PY
head -c $((64 << 20)) /dev/zero > bomb.ko
tar -czf bad-bomb.tgz bomb.ko
rm bomb.ko
head -c 5000 /dev/urandom > bad-nongzip.bin
bad() { # FILE EXPECTED_CODE NEEDLE [extra curl args]
	local f=$1 want=$2 needle=$3 code
	shift 3
	code=$(curl --silent -o body.txt -w '%{http_code}' -X POST -F machine=m1 "$@" \
		-F "artifact=@$f" "$URL/sign/modules")
	[ "$code" = "$want" ] || fail "$f: $code (want $want) $(head -c 300 body.txt)"
	grep -qF -- "$needle" body.txt || fail "$f: answer does not name \"$needle\": $(cat body.txt)"
	srv_healthy
}
bad bad-absolute.tgz 400 "/lib/modules/evil.ko"
bad bad-dotdot.tgz 400 "lib/../../evil.ko"
bad bad-symlink.tgz 400 "lib/link.ko: symlink"
bad bad-hardlink.tgz 400 "lib/hard.ko: hard link"
bad bad-device.tgz 400 "lib/sda: block device"
bad bad-duplicate.tgz 400 "lib/ok.ko: duplicate"
bad bad-empty.tgz 400 "empty"
bad bad-nomodules.tgz 400 "no *.ko module in the archive"
bad bad-bomb.tgz 413 "bomb.ko"
bad bad-nongzip.bin 400 "archive"
bad modules.tar.gz 400 "hashalg" -F hashalg=md5
bad modules.tar.gz 400 "key-uri" -F backend=pkcs11

srv_spool_empty
[ -z "$(ls -A "$T/tmp")" ] || fail "scratch left behind: $(ls -A "$T/tmp")"
srv_log_clean
srv_stop

# ---- the same key in a SoftHSM2 token (label YubiHSM, PIN in the server environment) ----
MOD=/usr/lib/softhsm/libsofthsm2.so
softhsm_token "$T/hsm" YubiHSM "$TEST_PIN"
p11() { pkcs11-tool --module "$MOD" --token-label YubiHSM --login --pin "$TEST_PIN" "$@" >/dev/null 2>&1; }
openssl pkey -in "$T/ref/key.pem" -outform DER -out "$T/hsm/k.der"
openssl pkey -in "$T/ref/key.pem" -pubout -outform DER -out "$T/hsm/p.der"
p11 --write-object "$T/hsm/k.der" --type privkey --id 4b01 --label kmod --usage-sign
p11 --write-object "$T/hsm/p.der" --type pubkey --id 4b01 --label kmod
p11 --write-object "$T/ref/cert.der" --type cert --id 4b01 --label kmod
rm -f "$T/hsm/k.der"
mkdir -p "$K/hsmstore/kmodsign" "$K/hsmtoken/kmodsign"
cp "$T/ref/cert.der" "$K/hsmstore/kmodsign/kernel-signkey.x509"   # cert from the store
echo "pkcs11_module = $MOD" >> "$T/server.conf"
srv_start
for m in hsmstore hsmtoken; do   # hsmtoken: no certificate file, taken from the token
	uri='pkcs11:token=YubiHSM;object=kmod;type=private;pin-value=password'
	[ $m = hsmtoken ] && uri='pkcs11:type=private;token=YubiHSM;object=kmod?pin-value=password'
	curl --silent --fail-with-body -X POST -F machine=$m -F hashalg=sha256 -F backend=pkcs11 \
		--form-string "key-uri=$uri" -F artifact=@modules.tar.gz -o "signed-$m.tar.gz" \
		"$URL/sign/modules" || fail "token ($m): $(cat "signed-$m.tar.gz")"
	# RSA PKCS#1 v1.5 is deterministic: the token's signatures equal sign-file's
	check_tree "signed-$m.tar.gz" sha256
done
code=$(curl --silent -o body.txt -w '%{http_code}' -X POST -F machine=hsmtoken -F backend=pkcs11 \
	--form-string "key-uri=pkcs11:token=YubiHSM;object=kmod;type=private;pin-value=$TEST_PIN" \
	-F artifact=@modules.tar.gz "$URL/sign/modules")
[ "$code" = 400 ] || fail "client PIN in key-uri: $code $(cat body.txt)"
srv_healthy
srv_spool_empty
[ -z "$(ls -A "$T/tmp")" ] || fail "scratch left behind: $(ls -A "$T/tmp")"
srv_log_clean
srv_stop

# ---- the CLI takes the same job path ----
"$BS_BIN" sign modules --keys "$K" --machine m1 --field hashalg=sha384 modules.tar.gz \
	-o cli.tar.gz || fail "bootsign sign modules failed"
check_tree cli.tar.gz sha384
! "$BS_BIN" sign modules --keys "$K" --machine m1 bad-symlink.tgz -o cli-bad.tar.gz 2>err.txt ||
	fail "CLI signed a tree with a symlink"
grep -q "lib/link.ko" err.txt || fail "CLI error does not name the member: $(cat err.txt)"
[ ! -e cli-bad.tar.gz ] || fail "CLI left an output after a failure"
echo "test_server_modules: ok"
