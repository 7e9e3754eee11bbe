# A SoftHSM2 token for server e2e tests, as the server sees a YubiHSM (sourced after
# server_common.sh). token_init: label YubiHSM, user PIN $TEST_PIN, files under $T/hsm,
# the server configured for the SoftHSM2 module. token_add_rsa PEM LABEL ID [CERT]: the
# private key, its public key and a certificate object (CERT, or a self-signed one) with
# that label and id: the server's token key layer reads a key's public half from its
# certificate object.
TOKEN_MODULE=/usr/lib/softhsm/libsofthsm2.so

token_init() {
	[ -e "$TOKEN_MODULE" ] || srv_fail "SoftHSM2 module $TOKEN_MODULE missing (scripts/deps.sh test installs it)"
	mkdir -p "$T/hsm/tokens"
	printf 'directories.tokendir = %s/hsm/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' \
		"$T" > "$T/hsm/softhsm2.conf"
	export SOFTHSM2_CONF=$T/hsm/softhsm2.conf
	softhsm2-util --init-token --free --label YubiHSM --so-pin 12345678 --pin "$TEST_PIN" >/dev/null
	echo "pkcs11_module = $TOKEN_MODULE" >> "$T/server.conf"
}

token_add_rsa() {
	local pem=$1 label=$2 id=$3 cert=${4:-} d
	d=$(mktemp -d "$T/tokXXXX")
	openssl pkey -in "$pem" -outform DER -out "$d/key.der"
	openssl pkey -in "$pem" -pubout -outform DER -out "$d/pub.der"
	if [ -n "$cert" ]; then
		openssl x509 -in "$cert" -outform DER -out "$d/crt.der"
	else
		openssl req -x509 -new -key "$pem" -subj "/CN=$label" -days 30 -outform DER \
			-out "$d/crt.der"
	fi
	local t
	for t in "key.der privkey --usage-sign" "pub.der pubkey" "crt.der cert"; do
		set -- $t
		pkcs11-tool --module "$TOKEN_MODULE" --token-label YubiHSM --login --pin "$TEST_PIN" \
			--write-object "$d/$1" --type "$2" ${3:-} --id "$id" --label "$label" \
			>/dev/null 2>&1 || srv_fail "token: writing $label $2"
	done
	rm -rf "$d"
}
