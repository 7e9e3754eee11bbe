# Small helpers shared by the e2e tests (sourced). No bootsign code is used here.

# fail MSG...: report and end the test with status 1
fail() { echo "FAIL: $*" >&2; exit 1; }

# softhsm_token DIR LABEL PIN: a private SoftHSM2 token labelled LABEL (user PIN PIN, SO PIN
# 12345678) with its files under DIR/tokens; the config DIR/softhsm2.conf is exported as
# SOFTHSM2_CONF.
softhsm_token() {
	mkdir -p "$1/tokens"
	printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' \
		"$1" > "$1/softhsm2.conf"
	export SOFTHSM2_CONF=$1/softhsm2.conf
	softhsm2-util --init-token --free --label "$2" --pin "$3" --so-pin 12345678 > /dev/null
}

# flip FILE OFFSET OUT: copy FILE to OUT with the byte at OFFSET inverted
flip() {
	local v
	cp "$1" "$3"
	v=$(od -An -j "$2" -N1 -tu1 "$1" | tr -d ' ')
	printf "\\x$(printf %02x $((v ^ 0xff)))" | dd of="$3" bs=1 seek="$2" conv=notrunc status=none
}

# softhsm_import MODULE LABEL PIN ID NAME KEY.pem CERT.pem: write a private key, its public
# key and its certificate into token LABEL (pkcs11-tool), all three labelled NAME with
# object id ID (hex), the private key usable for signing only.
softhsm_import() {
	local mod=$1 tok=$2 pin=$3 id=$4 name=$5 key=$6 crt=$7 d
	d=$(mktemp -d)
	openssl pkey -in "$key" -outform DER -out "$d/key.der"
	openssl pkey -in "$key" -pubout -outform DER -out "$d/pub.der"
	openssl x509 -in "$crt" -outform DER -out "$d/crt.der"
	local p11=(pkcs11-tool --module "$mod" --token-label "$tok" --login --pin "$pin")
	"${p11[@]}" --write-object "$d/key.der" --type privkey --id "$id" --label "$name" --usage-sign >/dev/null 2>&1 &&
		"${p11[@]}" --write-object "$d/pub.der" --type pubkey --id "$id" --label "$name" >/dev/null 2>&1 &&
		"${p11[@]}" --write-object "$d/crt.der" --type cert --id "$id" --label "$name" >/dev/null 2>&1
	local rc=$?
	rm -rf "$d"
	return $rc
}
