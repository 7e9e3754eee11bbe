# Shared set-up of the key isolation e2e tests (sourced after server_common.sh and
# common.sh; call kp_setup after srv_setup): a SoftHSM2 token labelled YubiHSM holding
# CSF1 and IMG1 with their certificates, the PIN in a 0600 file $T/pin (as in production:
# under ASan the sanitizer runtime keeps its own copy of /proc/self/environ, which no
# program can wipe), and $T/client/hsm.csf: flash.csf naming the token's certificates.
KP_MOD=/usr/lib/softhsm/libsofthsm2.so

kp_setup() {
	[ -e "$KP_MOD" ] || srv_fail "SoftHSM2 module $KP_MOD missing (scripts/deps.sh test installs it)"
	softhsm_token "$T/hsm" YubiHSM "$TEST_PIN"
	local k
	for k in 01:CSF1 02:IMG1; do
		softhsm_import "$KP_MOD" YubiHSM "$TEST_PIN" "${k%%:*}" "${k#*:}" \
			"$FIX/keys/${k#*:}_key.pem" "$FIX/crts/${k#*:}_crt.pem" || srv_fail "token import"
	done
	(umask 077; printf '%s\n' "$TEST_PIN" > "$T/pin")
	sed -e 's#"crts/CSF1_crt.pem"#"pkcs11:token=YubiHSM;object=CSF1;type=cert;pin-value=password"#' \
	    -e 's#"crts/IMG1_crt.pem"#"pkcs11:token=YubiHSM;object=IMG1;type=cert;pin-value=password"#' \
		"$T/client/flash.csf" > "$T/client/hsm.csf"
}

# kp_conf: the server settings for that token and PIN file, with key isolation.
kp_conf() {
	printf 'pkcs11_module = %s\npkcs11_pin_file = %s\nkey_isolation = yes\n' "$KP_MOD" "$T/pin"
}

# kp_sign CSF OUT [extra curl args]: POST /sign/imx from $T/client; prints the HTTP status.
kp_sign() {
	local csf=$1 out=$2
	shift 2
	curl --silent -o "$out" -w '%{http_code}' -X POST -F machine=imx8mp -F soctype=mx8m \
		-F cstversion=3.3.2 "$@" -F "csf=@$csf;type=text/plain" \
		-F "artifact=@imx-boot-sd.bin" "$URL/sign/imx" || true
}

# kp_pid: the pid of the newest key process, from the server log.
kp_pid() {
	sed -n 's/.*key process \([0-9]*\) started.*/\1/p' "$SRV_LOG" | tail -n1
}
