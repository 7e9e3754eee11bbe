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
