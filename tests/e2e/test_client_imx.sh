#!/usr/bin/env bash
# bootsign client imx against the running server on a two-IVT i.MX8M flash.bin (SPL + FIT):
# the result verifies for both IVTs and equals the manual curl + dd recipe byte for byte;
# digest-only gives the same blobs without sending the image; refusals write nothing.
set -euo pipefail
. "$BS_SRCDIR/tests/e2e/lib/server_common.sh"
srv_setup
export SOURCE_DATE_EPOCH=1700000000 # the job's fixed signing time: identical blobs
srv_start
FUSE=$FIX/crts/SRK_fuse.bin
MK=$BS_FIXTURES/flash-spl-fit/mkflash.py
W=$T/w
mkdir -p "$W"
cd "$W"

offsets=$(python3 "$MK" "$W")
spl_csf=$(( $(sed -n 's/.*spl_csf=\(0x[0-9a-f]*\).*/\1/p' <<<"$offsets") ))
fit_csf=$(( $(sed -n 's/.*fit_csf=\(0x[0-9a-f]*\).*/\1/p' <<<"$offsets") ))
fit_ivt=$(( $(sed -n 's/.*fit_ivt=\(0x[0-9a-f]*\).*/\1/p' <<<"$offsets") ))
size=$(stat -c %s flash.bin)
before=$(sha256sum flash.bin)
client() { "$BS_BIN" client imx --server "$URL" --machine imx8mp --soctype mx8mp "$@"; }
verify() { "$BS_BIN" hab verify --quiet --fuse "$FUSE" --ivt-offset "$2" "$1"; }

# 1. full upload, verified by the client, then by hab verify for both IVTs
client -v --csf csf-spl.csf --csf csf-fit.csf --fuse "$FUSE" -o signed.bin flash.bin \
	2> full.err || srv_fail "client imx: $(cat full.err)"
[ "$(sha256sum flash.bin)" = "$before" ] || srv_fail "the input image was modified"
verify signed.bin 0 || srv_fail "SPL IVT does not verify"
verify signed.bin "$fit_ivt" || srv_fail "FIT IVT does not verify"
ls | grep -q '\.tmp\.' && srv_fail "temporary file left: $(ls)"

# 2. the manual recipe: one curl per CSF, dd each blob at its offset
cp flash.bin manual.bin
for part in spl fit; do
	curl --silent --show-error --fail-with-body -X POST -F machine=imx8mp -F soctype=mx8mp \
		-F cstversion=3.3.1 -F "csf=@csf-$part.csf" -F "artifact=@flash.bin" \
		--output "blob-$part.bin" "$URL/sign/imx" || srv_fail "curl $part"
done
dd if=blob-spl.bin of=manual.bin bs=1 seek="$spl_csf" conv=notrunc status=none
dd if=blob-fit.bin of=manual.bin bs=1 seek="$fit_csf" conv=notrunc status=none
cmp manual.bin signed.bin || srv_fail "client output differs from curl + dd"

# 3. digest-only: same bytes, and the server never received the image
client -v --digest-only --csf csf-spl.csf --csf csf-fit.csf --fuse "$FUSE" -o digest.bin \
	flash.bin 2> digest.err || srv_fail "client imx --digest-only: $(cat digest.err)"
cmp digest.bin signed.bin || srv_fail "digest-only output differs from the full upload"
ids=$(sed -n 's/.*request id \([0-9a-f]*\), sent \([0-9]*\) bytes.*/\1/p' digest.err)
[ "$(wc -w <<<"$ids")" = 2 ] || srv_fail "digest-only: no request ids in: $(cat digest.err)"
for id in $ids; do
	got=$(grep "\[$id\] request .*status=200" "$SRV_LOG" | sed -n 's/.* bytes=\([0-9]*\) .*/\1/p')
	[ -n "$got" ] || srv_fail "no log line for $id"
	[ "$got" -lt 8192 ] || srv_fail "digest-only request $id received $got bytes (image: $size)"
done
grep -q "digest-only: artifact 'flash.bin' ($size bytes)" "$SRV_LOG" ||
	srv_fail "server log does not record the digest-only request"
full_id=$(sed -n 's/.*csf-spl.csf: request id \([0-9a-f]*\),.*/\1/p' full.err)
grep -q "\[$full_id\] request .* bytes=$(( size ))\|\[$full_id\] request .* bytes=1[0-9]\{6\}" \
	"$SRV_LOG" || srv_fail "full upload $full_id did not send the image"

# the same digests offline (bootsign sign imx --field digests=@FILE) give the same blob
line=$(grep -n '^\[Authenticate Data\]' csf-spl.csf | cut -d: -f1)
printf 'artifact flash.bin %s\n%s sha256:%s %s\n' "$size" "$line" \
	"$(head -c "$spl_csf" flash.bin | sha256sum | cut -d' ' -f1)" "$spl_csf" > dg-ok.txt
"$BS_BIN" sign imx --keys "$T/keys" --machine imx8mp --field soctype=mx8mp \
	--field cstversion=3.3.1 --field csf=@csf-spl.csf --field digests=@dg-ok.txt \
	-o offline.bin 2> offline.err || srv_fail "offline: $(cat offline.err)"
cmp offline.bin blob-spl.bin || srv_fail "offline digest-only blob differs from the server's"

# 4. a tampered digest is signed, but hab verify rejects the result on the real image
hex=$(python3 - flash.bin <<'PY'
import hashlib, sys
d = open(sys.argv[1], 'rb').read()[0:0x306f0]
h = bytearray(hashlib.sha256(d).digest()); h[0] ^= 1
print(h.hex())
PY
)
printf 'artifact flash.bin %s\n%s sha256:%s %s\n' "$size" "$line" "$hex" $((0x306f0)) > dg.txt
curl --silent --show-error --fail-with-body -X POST -F machine=imx8mp -F soctype=mx8mp \
	-F cstversion=3.3.1 -F "csf=@csf-spl.csf" -F "digests=<dg.txt" --output bad-blob.bin \
	"$URL/sign/imx" || srv_fail "tampered digest request refused"
cp signed.bin tampered.bin
dd if=bad-blob.bin of=tampered.bin bs=1 seek="$spl_csf" conv=notrunc status=none
if verify tampered.bin 0 2>/dev/null; then srv_fail "a blob over a tampered digest verified"; fi
# the server checks the declaration against the CSF
sed "s/ $((0x306f0))\$/ 16/" dg.txt > dg-len.txt
code=$(curl --silent -o body.txt -w '%{http_code}' -X POST -F machine=imx8mp -F soctype=mx8mp \
	-F cstversion=3.3.1 -F "csf=@csf-spl.csf" -F "digests=<dg-len.txt" "$URL/sign/imx")
[ "$code" = 400 ] && grep -q "declares 16 bytes" body.txt || srv_fail "wrong length: $code $(cat body.txt)"
sed "s/^artifact flash.bin .*/artifact flash.bin 4096/" dg.txt > dg-size.txt
code=$(curl --silent -o body.txt -w '%{http_code}' -X POST -F machine=imx8mp -F soctype=mx8mp \
	-F cstversion=3.3.1 -F "csf=@csf-spl.csf" -F "digests=<dg-size.txt" "$URL/sign/imx")
[ "$code" = 400 ] && grep -q "lies outside the artifact" body.txt || srv_fail "size: $code $(cat body.txt)"
code=$(curl --silent -o body.txt -w '%{http_code}' -X POST -F machine=imx8mp -F soctype=mx8mp \
	-F cstversion=3.3.1 -F "csf=@csf-spl.csf" -F "digests=<dg.txt" -F "artifact=@flash.bin" \
	"$URL/sign/imx")
[ "$code" = 400 ] && grep -q "not both" body.txt || srv_fail "both: $code $(cat body.txt)"

# 5. a blob too large for its space: clear error, no output
mkdir small && python3 "$MK" small --fit-csf-space 0x200 > /dev/null
if client --csf small/csf-spl.csf --csf small/csf-fit.csf -o small/out.bin small/flash.bin \
	2> small.err; then srv_fail "a blob larger than its space was accepted"; fi
grep -q "does not fit at file offset 0x$(printf %x "$fit_csf"): only 512 bytes before the signed block" small.err ||
	srv_fail "too large: $(cat small.err)"
[ -z "$(ls small | grep -v -e flash.bin -e '\.csf$')" ] || srv_fail "output left: $(ls small)"

# 6. wrong machine: the server's text, status and request id are shown; no output
if client --machine nosuch --csf csf-spl.csf -o wrong.bin flash.bin 2> wrong.err; then
	srv_fail "unknown machine accepted"
fi
grep -q "server answered 4[0-9][0-9] (request id [0-9a-f]\{16\}): .*nosuch" wrong.err ||
	srv_fail "wrong machine: $(cat wrong.err)"
[ ! -e wrong.bin ] || srv_fail "output written after an error"

# 7. Blocks naming another file are refused before anything is sent
sed 's/"flash.bin"/"other.bin"/' csf-spl.csf > other.csf
if client --csf other.csf -o other.bin flash.bin 2> other.err; then srv_fail "other file"; fi
grep -q "other.csf:[0-9]*:[0-9]*: Blocks name 'other.bin', not the image 'flash.bin'" other.err ||
	srv_fail "other file: $(cat other.err)"
[ ! -e other.bin ] || srv_fail "output written for a CSF naming another file"
# no IVT whose self pointer matches the block's load address
sed 's/0x7e0fc0 0x0/0x7e0fc4 0x0/' csf-spl.csf > noivt.csf
if client --csf noivt.csf -o x.bin flash.bin 2> e.txt; then srv_fail "no IVT accepted"; fi
grep -q "noivt.csf: no IVT inside its signed blocks" e.txt || srv_fail "no IVT: $(cat e.txt)"
# the CSF pointer inside signed data
sed 's/0x7e0fc0 0x0 0x306f0/0x7e0fc0 0x0 0x30800/' csf-spl.csf > inside.csf
if client --csf inside.csf -o x.bin flash.bin 2> e.txt; then srv_fail "CSF in data accepted"; fi
grep -q "inside.csf: the IVT's CSF pointer (file offset 0x306f0) lies inside data signed by inside.csf:" e.txt ||
	srv_fail "CSF inside data: $(cat e.txt)"
# two CSFs for one IVT
if client --csf csf-spl.csf --csf csf-spl.csf -o x.bin flash.bin 2> e.txt; then
	srv_fail "two CSFs for one IVT accepted"
fi
grep -q "sign the same IVT (0x0)" e.txt || srv_fail "same IVT: $(cat e.txt)"
[ ! -e x.bin ] || srv_fail "output written after a refused plan"
# -o must not be the input
if client --csf csf-spl.csf -o flash.bin flash.bin 2>/dev/null; then srv_fail "-o = input"; fi
[ "$(sha256sum flash.bin)" = "$before" ] || srv_fail "the input image was modified"

# 8. U-Boot's real load addresses (ATF at 0x920000): placement is the same; the SPL IVT
# verifies (the offline verifier maps FIT blocks through the IVT, so --fuse is not used)
mkdir real && python3 "$MK" real --real-addresses > /dev/null
client --csf real/csf-spl.csf --csf real/csf-fit.csf -o real/out.bin real/flash.bin ||
	srv_fail "real addresses"
verify real/out.bin 0 || srv_fail "real addresses: SPL IVT does not verify"
cmp <(head -c "$spl_csf" real/out.bin) <(head -c "$spl_csf" real/flash.bin) ||
	srv_fail "real addresses: signed SPL bytes changed"

# U-Boot's FIT IVT with boot_data = 0: placed the same way, verified for both IVTs
mkdir bd0 && python3 "$MK" bd0 --fit-boot-data-zero > /dev/null
client --csf bd0/csf-spl.csf --csf bd0/csf-fit.csf --fuse "$FUSE" -o bd0/out.bin bd0/flash.bin \
	2> bd0.err || srv_fail "boot_data = 0: $(cat bd0.err)"
verify bd0/out.bin "$fit_ivt" || srv_fail "boot_data = 0: FIT IVT does not verify"

# 9. bootsign client sign: the generic form gives the curl blob
BOOTSIGN_TOKEN=t0k "$BS_BIN" client sign imx --server "$URL" --field machine=imx8mp \
	--field soctype=mx8mp --field cstversion=3.3.1 --file csf=csf-fit.csf \
	--file artifact=flash.bin -o generic.bin || srv_fail "client sign"
cmp generic.bin blob-fit.bin || srv_fail "client sign blob differs from curl's"
if "$BS_BIN" client sign imx --server "$URL" --field machine=nosuch --field soctype=mx8mp \
	--field cstversion=3.3.1 --file csf=csf-fit.csf --file artifact=flash.bin \
	-o g2.bin 2> g2.err; then srv_fail "client sign: unknown machine accepted"; fi
grep -q "server answered 4[0-9][0-9] (request id " g2.err || srv_fail "client sign: $(cat g2.err)"
[ ! -e g2.bin ] && [ -z "$(ls | grep 'g2.bin.tmp')" ] || srv_fail "client sign left output"
srv_log_clean
srv_stop
echo "ok"
