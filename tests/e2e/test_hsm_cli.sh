#!/usr/bin/env bash
# bootsign hsm import|list against a private SoftHSM2 token. Independent checks with
# pkcs11-tool (object attributes, a signature made by the imported key) and openssl.
set -euo pipefail
: "${BS_BIN:?}" "${BS_FIXTURES:?}" "${BS_SRCDIR:?}"
. "$BS_SRCDIR/tests/e2e/lib/common.sh"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
SOFTHSM=/usr/lib/softhsm/libsofthsm2.so
PIN=0001password
V=$BS_FIXTURES/hab4-vectors

mkdir -p "$T/pki/keys" "$T/pki/crts" "$T/out"
softhsm_token "$T" YubiHSM "$PIN"
printf '%s\n' "$PIN" >"$T/pin.txt"   # trailing newline on purpose
chmod 600 "$T/pin.txt"

# A CST-style tree: encrypted PKCS#8 keys, key_pass.txt beside them.
printf 'test-passphrase\n' >"$T/pki/keys/key_pass.txt"
chmod 600 "$T/pki/keys/key_pass.txt"
openssl pkcs8 -topk8 -v2 aes-256-cbc -in "$V/rsa/keys/CSF1_key.pem" \
	-passout file:"$T/pki/keys/key_pass.txt" -out "$T/pki/keys/CSF1_key.pem"
cp "$V/rsa/crts/CSF1_crt.pem" "$T/pki/crts/"
openssl pkcs8 -topk8 -v2 aes-256-cbc -in "$V/ec/keys/CSF1_key.pem" -outform DER \
	-passout pass:ec-pass -out "$T/ec_key.der"
printf 'ec-pass\n' >"$T/ec_pass.txt"
chmod 600 "$T/ec_pass.txt"
openssl x509 -in "$V/ec/crts/CSF1_crt.pem" -outform DER -out "$T/ec_crt.der"

p11tool() { pkcs11-tool --module "$SOFTHSM" "$@" 2>>"$T/out/p11tool.err"; }
run() { "$BS_BIN" "$@" >>"$T/out/stdout" 2>>"$T/out/stderr"; }
files_before=$(find "$T" -type f | sort)

# --help for each subcommand
"$BS_BIN" hsm import --help | grep -q -- '--pin-file' || fail "import --help"
"$BS_BIN" hsm list --help | grep -q -- '--token' || fail "list --help"

# 1. import RSA (passphrase from key_pass.txt beside the key), PIN from a file
run hsm import --token "pkcs11:token=YubiHSM" --module "$SOFTHSM" --pin-file "$T/pin.txt" \
	--cert "$T/pki/crts/CSF1_crt.pem" --key "$T/pki/keys/CSF1_key.pem" \
	--label CSF1_1_sha256_2048_usr --id 01 || fail "import rsa: $(cat "$T/out/stderr")"
# 2. import EC (DER key + cert, --pass-file), PIN from the environment
BOOTSIGN_PIN=$PIN run hsm import --token "pkcs11:token=YubiHSM;pin-value=password" \
	--module "$SOFTHSM" --cert "$T/ec_crt.der" --key "$T/ec_key.der" \
	--pass-file "$T/ec_pass.txt" --label CSF1_ec --id 0xa1b2 || fail "import ec (0x id)"

# No plaintext (or any) key material written anywhere by bootsign.
files_after=$(find "$T" -type f -not -path "$T/tokens/*" -not -path "$T/out/*" | sort)
[ "$files_after" = "$(echo "$files_before" | grep -v -e "^$T/tokens/" -e "^$T/out/")" ] ||
	fail "import wrote files"

# 3. bootsign hsm list
"$BS_BIN" hsm list --token pkcs11:token=YubiHSM --module "$SOFTHSM" --pin-file "$T/pin.txt" \
	>"$T/out/list" 2>>"$T/out/stderr" || fail "list"
cat "$T/out/list"
grep -Eq '^private +RSA-2048 +sign +01 +CSF1_1_sha256_2048_usr$' "$T/out/list" || fail "list rsa priv"
grep -Eq '^public +RSA-2048 +verify +01 +CSF1_1_sha256_2048_usr$' "$T/out/list" || fail "list rsa pub"
grep -Eq '^cert +RSA-2048 +- +01 +CSF1_1_sha256_2048_usr$' "$T/out/list" || fail "list rsa cert"
grep -Eq '^private +EC-256 +sign +a1b2 +CSF1_ec$' "$T/out/list" || fail "list ec priv"
grep -Eq '^cert +EC-256 +- +a1b2 +CSF1_ec$' "$T/out/list" || fail "list ec cert"
# sorted by label, then id, then type
tail -n +2 "$T/out/list" | awk '{print $NF}' > "$T/out/labels"
sort -c "$T/out/labels" || fail "hsm list not sorted: $(cat "$T/out/list")"

# 4. independent view: pkcs11-tool
p11tool --login --pin "$PIN" -O >"$T/out/p11-objects"
# pkcs11-tool prints "extractable" in the Access line when CKA_EXTRACTABLE is true
access=$(grep -A6 'Private Key Object; RSA' "$T/out/p11-objects" | grep 'Access:')
[[ $access == *sensitive* ]] || fail "rsa key not sensitive: $access"
if echo "$access" | grep -Eq '(:|,) *extractable'; then fail "rsa key extractable: $access"; fi
grep -A6 'Private Key Object; RSA' "$T/out/p11-objects" | grep -Eq 'Usage: +sign$' || fail "rsa usage"
grep -A4 'Certificate Object' "$T/out/p11-objects" | grep -q 'label: *CSF1_ec' || fail "ec cert"
# the token stores exactly the certificate we gave it
p11tool --read-object --type cert --id 01 -o "$T/out/tok_crt.der"
openssl x509 -in "$V/rsa/crts/CSF1_crt.pem" -outform DER | cmp - "$T/out/tok_crt.der" ||
	fail "certificate bytes differ"
# the imported private key signs, and the signature verifies with the certificate
head -c 1000 /dev/urandom >"$T/out/data"
p11tool --login --pin "$PIN" --sign --id 01 -m SHA256-RSA-PKCS --input-file "$T/out/data" \
	--output-file "$T/out/sig" >/dev/null
openssl x509 -in "$V/rsa/crts/CSF1_crt.pem" -pubkey -noout >"$T/out/pub.pem"
openssl dgst -sha256 -verify "$T/out/pub.pem" -signature "$T/out/sig" "$T/out/data" >/dev/null ||
	fail "token signature does not verify"

# 5. errors
nobj=$(grep -c 'Object;' "$T/out/p11-objects")
set +e
"$BS_BIN" hsm import --token pkcs11:token=YubiHSM --module "$SOFTHSM" --pin-file "$T/pin.txt" \
	--cert "$T/pki/crts/CSF1_crt.pem" --key "$T/pki/keys/CSF1_key.pem" \
	--label CSF1_1_sha256_2048_usr --id 09 2>"$T/out/err-dup"
[ $? -eq 1 ] || fail "duplicate label accepted"
grep -q 'already has' "$T/out/err-dup" || fail "duplicate message"
printf 'wrong\n' >"$T/badpass"
chmod 600 "$T/badpass"
"$BS_BIN" hsm import --token pkcs11:token=YubiHSM --module "$SOFTHSM" --pin-file "$T/pin.txt" \
	--cert "$T/ec_crt.der" --key "$T/ec_key.der" --pass-file "$T/badpass" --label X \
	--id 07 2>"$T/out/err-pass" </dev/null
[ $? -eq 1 ] || fail "wrong passphrase accepted"
printf '0001wrong\n' >"$T/badpin"
chmod 600 "$T/badpin"
"$BS_BIN" hsm list --token pkcs11:token=YubiHSM --module "$SOFTHSM" --pin-file "$T/badpin" \
	2>"$T/out/err-pin" </dev/null
[ $? -eq 1 ] || fail "wrong PIN accepted"
grep -q 'wrong PIN' "$T/out/err-pin" || fail "wrong PIN message"
"$BS_BIN" hsm list --token pkcs11:token=YubiHSM --module "$SOFTHSM" --pin "$PIN" \
	2>"$T/out/err-argv"
[ $? -eq 2 ] || fail "--pin on argv accepted"
"$BS_BIN" hsm list --token "pkcs11:token=YubiHSM;pin-value=$PIN" --module "$SOFTHSM" \
	--pin-file "$T/pin.txt" 2>"$T/out/err-uri" </dev/null
[ $? -eq 1 ] || fail "PIN in URI accepted"
grep -q 'not accepted' "$T/out/err-uri" || fail "URI PIN message"
"$BS_BIN" hsm list --token pkcs11:token=Absent --module "$SOFTHSM" --pin-file "$T/pin.txt" \
	2>"$T/out/err-absent" </dev/null
[ $? -eq 1 ] || fail "absent token accepted"
grep -q "token 'Absent' not present: the PKCS#11 module has no token with that label (tokens: 'YubiHSM')" \
	"$T/out/err-absent" || fail "absent token message: $(cat "$T/out/err-absent")"
# a bare label is not a URI: say which URI was meant
"$BS_BIN" hsm list --token YubiHSM --module "$SOFTHSM" --pin-file "$T/pin.txt" \
	2>"$T/out/err-bare" </dev/null
[ $? -eq 2 ] || fail "bare --token accepted"
grep -q "did you mean --token 'pkcs11:token=YubiHSM'?" "$T/out/err-bare" ||
	fail "bare token hint: $(cat "$T/out/err-bare")"
# a certificate and key that do not match, said in those words, nothing written
"$BS_BIN" hsm import --token pkcs11:token=YubiHSM --module "$SOFTHSM" --pin-file "$T/pin.txt" \
	--cert "$T/pki/crts/CSF1_crt.pem" --key "$T/ec_key.der" --pass-file "$T/ec_pass.txt" \
	--label Mismatch --id 0x0e 2>"$T/out/err-mismatch" </dev/null
[ $? -eq 1 ] || fail "mismatched import accepted"
grep -q "certificate and key do not match" "$T/out/err-mismatch" ||
	fail "mismatch message: $(cat "$T/out/err-mismatch")"
! grep -qi "engine\|error:" "$T/out/err-mismatch" || fail "OpenSSL noise: $(cat "$T/out/err-mismatch")"
set -e
p11tool --login --pin "$PIN" -O >"$T/out/p11-objects2"
[ "$(grep -c 'Object;' "$T/out/p11-objects2")" = "$nobj" ] || fail "failed imports left objects"
# the right PIN still works (the token was not locked by the wrong one)
"$BS_BIN" hsm list --token pkcs11:token=YubiHSM --module "$SOFTHSM" --pin-file "$T/pin.txt" \
	>/dev/null 2>&1 || fail "token locked after a wrong PIN"

# 6. the PIN never appears in our outputs
for f in "$T"/out/stdout "$T"/out/stderr "$T"/out/list "$T"/out/err-*; do
	if grep -q "$PIN" "$f"; then fail "PIN leaked into $f"; fi
done
echo "OK"
