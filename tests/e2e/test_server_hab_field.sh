#!/usr/bin/env bash
# The HAB4 field cases through the server, as users send them (issue 10): a whole i.MX8M
# flash.bin signed in two requests (SPL CSF, then FIT CSF, over the same image) with a
# clean server bundle made by `bootsign pki bundle`, then checked IVT by IVT with
# `bootsign hab verify`; a bundle users already have (whole CST tree, SRK/CA keys
# inside) still signs; a chain the ROM would refuse is a 400 naming the cause.
set -euo pipefail
. "$BS_SRCDIR/tests/e2e/lib/server_common.sh"
F=$BS_SRCDIR/tests/fixtures/hab-field
srv_setup
mkdir -p "$T/keys/flash/imxsign" "$T/keys/oldtree/imxsign" "$T/keys/fastca/imxsign"
"$BS_BIN" pki bundle --from "$F/bootdata-1byte/pki" \
	--out "$T/keys/flash/imxsign/imx-cst-keys.tar.gz" > /dev/null
! tar -tzf "$T/keys/flash/imxsign/imx-cst-keys.tar.gz" | grep -E '^keys/(SRK|CA)' ||
	srv_fail "pki bundle kept root keys"
cp "$F/bootdata-1byte/pki/imx-cst-keys.tar.gz" "$T/keys/oldtree/imxsign/"
cp "$F/fastauth-nocak/ca/imx-cst-keys.tar.gz" "$T/keys/fastca/imxsign/"
srv_start
srv_healthy

cd "$T/client"
python3 "$F/imx8m-flash-spl-fit/mkimg.py" flash.bin > /dev/null
csf_text() { # BLOCKS
	printf '[Header]\nVersion = 4.3\nHash Algorithm = sha256\nEngine = CAAM\n'
	printf 'Engine Configuration = 0\nCertificate Format = X509\nSignature Format = CMS\n'
	printf '[Install SRK]\nFile = "crts/SRK_1_2_3_4_table.bin"\nSource index = 0\n'
	printf '[Install CSFK]\nFile = "crts/CSF1_1_sha256_2048_65537_v3_usr_crt.pem"\n'
	printf '[Authenticate CSF]\n[Install Key]\nVerification index = 0\nTarget Index = 2\n'
	printf 'File = "crts/IMG1_1_sha256_2048_65537_v3_usr_crt.pem"\n'
	printf '[Authenticate Data]\nVerification index = 2\nBlocks = %s\n' "$1"
}
csf_text '0x7e0fc0 0x0 0x306f0 "flash.bin"' > spl.csf
csf_text '0x401fcdc0 0x57c00 0x1020 "flash.bin", 0x40200000 0x5ac00 0xa0000 "flash.bin", 0x920000 0xfac00 0x9000 "flash.bin", 0x402a0000 0x103c00 0x8000 "flash.bin"' > fit.csf

post() { # machine csf artifact out -> CODE
	CODE=$(curl --silent --show-error -o "$4" -w '%{http_code}' -X POST -F "machine=$1" \
		-F soctype=mx8mp -F cstversion=3.3.2 -F "csf=@$2;type=text/plain" \
		-F "artifact=@$3" "$URL/sign/imx")
}
post flash spl.csf flash.bin spl_csf.bin
[ "$CODE" = 200 ] || srv_fail "SPL CSF: HTTP $CODE $(cat spl_csf.bin)"
post flash fit.csf flash.bin fit_csf.bin
[ "$CODE" = 200 ] || srv_fail "FIT CSF: HTTP $CODE $(cat fit_csf.bin)"
cp flash.bin signed.bin
dd if=spl_csf.bin of=signed.bin bs=1 seek=$((0x306f0)) conv=notrunc status=none
FUSE=$F/bootdata-1byte/pki/crts/SRK_1_2_3_4_fuse.bin
# only the SPL CSF in place: the FIT IVT is not signed, so the file fails
rc=0
"$BS_BIN" hab verify --fuse "$FUSE" --blocks fit.csf signed.bin > half.out 2>&1 || rc=$?
[ "$rc" = 1 ] && grep -qx "IVT at 0x0: OK" half.out &&
	grep -q "^IVT at 0x58c00: not signed" half.out || srv_fail "half: exit $rc $(cat half.out)"
dd if=fit_csf.bin of=signed.bin bs=1 seek=$((0x58c20)) conv=notrunc status=none
"$BS_BIN" hab verify --fuse "$FUSE" --blocks fit.csf signed.bin > full.out ||
	srv_fail "flash.bin signed in two requests: $(cat full.out)"
[ "$(grep -c '^IVT at 0x[0-9a-f]*: OK$' full.out)" = 2 ] || srv_fail "$(cat full.out)"

# the bundle users already have (the whole CST tree) keeps signing, and the log warns
# once for that bundle, naming the root-of-trust members and the clean-bundle command
post oldtree spl.csf flash.bin old_csf.bin
[ "$CODE" = 200 ] || srv_fail "old-style bundle: HTTP $CODE $(cat old_csf.bin)"
post oldtree spl.csf flash.bin old_csf2.bin
[ "$CODE" = 200 ] || srv_fail "old-style bundle, again: HTTP $CODE"
[ "$(grep -c 'warning: key bundle oldtree/imxsign/imx-cst-keys.tar.gz holds' "$SRV_LOG")" = 1 ] ||
	srv_fail "root-key bundle not warned exactly once"
grep 'warning: key bundle oldtree' "$SRV_LOG" | grep -q 'keys/SRK1_sha256_2048_65537_v3_ca_key' &&
	grep 'warning: key bundle oldtree' "$SRV_LOG" | grep -q 'bootsign pki bundle --from DIR' ||
	srv_fail "warning does not name the members and the command"
! grep 'warning: key bundle flash/' "$SRV_LOG" || srv_fail "clean bundle warned about"

# soctype means something: an AHAB-only SoC or an unknown name is a 400 that says so
for soc in mx8qxp mx93 mx95; do
	c=$(curl --silent -o soc.txt -w '%{http_code}' -X POST -F machine=flash -F "soctype=$soc" \
		-F cstversion=3.3.2 -F "csf=@spl.csf;type=text/plain" -F "artifact=@flash.bin" \
		"$URL/sign/imx")
	[ "$c" = 400 ] && grep -q "HAB4 does not run on" soc.txt ||
		srv_fail "HAB4 CSF for $soc: HTTP $c $(cat soc.txt)"
done
c=$(curl --silent -o soc.txt -w '%{http_code}' -X POST -F machine=flash -F soctype=mx9000 \
	-F cstversion=3.3.2 -F "csf=@spl.csf;type=text/plain" -F "artifact=@flash.bin" \
	"$URL/sign/imx")
[ "$c" = 400 ] && grep -q "unknown soctype 'mx9000' (known: .*mx8mp" soc.txt ||
	srv_fail "unknown soctype: HTTP $c $(cat soc.txt)"

# fast authentication over CA SRKs: refused at signing time with the cause, as a 400
cp "$F/fastauth-nocak/spl.bin" spl.bin
sed 's|"ca/crts/|"crts/|' "$F/fastauth-nocak/c.csf" > c.csf
post fastca c.csf spl.bin c_out.txt
[ "$CODE" = 400 ] || srv_fail "fast auth over CA SRKs: HTTP $CODE $(cat c_out.txt)"
grep -q "fast authentication needs non-CA SRKs, but SRK 0 carries the CA flag" c_out.txt ||
	srv_fail "cause not named: $(cat c_out.txt)"
srv_healthy
srv_spool_empty
srv_stop

# bundle_root_keys = refuse: the old-style bundle is refused (a server fault: 500, the
# reason in the log), the clean one still signs
echo "bundle_root_keys = refuse" >> "$T/server.conf"
srv_start
post oldtree spl.csf flash.bin refused.txt
[ "$CODE" = 500 ] || srv_fail "refuse mode: HTTP $CODE $(cat refused.txt)"
grep -q "refused by bundle_root_keys = refuse" "$SRV_LOG" || srv_fail "refusal not logged"
post flash spl.csf flash.bin ok.bin
[ "$CODE" = 200 ] || srv_fail "clean bundle in refuse mode: HTTP $CODE"
srv_stop
echo PASS
