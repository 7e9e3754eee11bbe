#!/usr/bin/env bash
# bootsign serve, POST /sign/imx exactly as digsigserver clients send it (the curl line
# from build recipes), checked with bootsign hab verify and openssl cms -verify.
set -euo pipefail
. "$BS_SRCDIR/tests/e2e/lib/server_common.sh"
srv_setup
srv_start
srv_healthy

cd "$T/client"
# The seed request, byte-for-byte as users send it.
curl --silent --fail -X POST -F machine=imx8mp -F soctype=mx8m -F cstversion=3.3.2 \
	-F "csf=@flash.csf;type=text/plain" -F "artifact=@imx-boot-sd.bin" \
	--output csf.bin "$URL/sign/imx" || srv_fail "seed request failed"
[ "$(head -c1 csf.bin | od -An -tx1 | tr -d ' ')" = d4 ] || srv_fail "response is not a CSF"
verify_blob "$T/client/csf.bin" "$T/client/imx-boot-sd.bin" "$T/v1"
# The oracle can fail: one flipped byte in the signed block must be rejected.
cp "$T/v1/signed.img" bad.img
printf '\x5a' | dd of=bad.img bs=1 seek=4096 conv=notrunc status=none
if "$BS_BIN" hab verify --quiet --fuse "$FIX/crts/SRK_fuse.bin" --ivt-offset 0 bad.img \
	2>/dev/null; then
	srv_fail "tampered image verified"
fi

# Headers: attachment name, content type, request id; the id is in the log.
curl --silent --fail -D hdr.txt -X POST -F machine=imx8mp -F soctype=mx8m \
	-F cstversion=3.3.2 -F "csf=@flash.csf;type=text/plain" \
	-F "artifact=@imx-boot-sd.bin" --output csf2.bin "$URL/sign/imx"
tr -d '\r' < hdr.txt > h.txt
grep -qi '^content-disposition: attachment; filename="artifact.signed"$' h.txt ||
	srv_fail "Content-Disposition missing"
grep -qi '^content-type: application/octet-stream$' h.txt || srv_fail "Content-Type wrong"
rid=$(sed -n 's/^[Xx]-[Rr]equest-[Ii]d: //p' h.txt)
[ -n "$rid" ] || srv_fail "no X-Request-Id"
# The line names the digests that were signed (each artifact byte is hashed once, by the
# signer): first the [Authenticate Data] block (0x0 + 0x2000 of u.csf), then the CSF.
blocks=$(head -c 8192 imx-boot-sd.bin | sha256sum | cut -d' ' -f1)
grep -q "\[$rid\] request .*endpoint=/sign/imx machine=imx8mp signed=sha256:$blocks,sha256:[0-9a-f]\{64\} .*status=200" \
	"$SRV_LOG" || srv_fail "log line for $rid incomplete"
verify_blob "$T/client/csf2.bin" "$T/client/imx-boot-sd.bin" "$T/v2"

# "./name" in Blocks resolves to the upload as well; backend=ssl explicitly.
sed 's/"imx-boot-sd.bin"/".\/imx-boot-sd.bin"/' flash.csf > dot.csf
curl --silent --fail -X POST -F machine=imx8mp -F soctype=mx8mp -F cstversion=4.0.1 \
	-F backend=ssl -F "csf=@dot.csf;type=text/plain" -F "artifact=@imx-boot-sd.bin" \
	--output csf3.bin "$URL/sign/imx" || srv_fail "./ block name refused"
verify_blob "$T/client/csf3.bin" "$T/client/imx-boot-sd.bin" "$T/v3"

# A request id header on errors too, and a useful one-line message.
code=$(curl --silent -D e.txt -o body.txt -w '%{http_code}' -X POST -F machine=nokeys \
	-F soctype=mx8m -F cstversion=3.3.2 -F "csf=@flash.csf;type=text/plain" \
	-F "artifact=@imx-boot-sd.bin" "$URL/sign/imx")
[ "$code" = 404 ] || srv_fail "machine without keys: $code"
grep -qi '^x-request-id: ' e.txt || srv_fail "no X-Request-Id on error"
grep -q "no keys for 'nokeys'" body.txt || srv_fail "404 body: $(cat body.txt)"

srv_healthy
srv_spool_empty
srv_log_clean

# SIGTERM during an upload: the in-flight request completes, then the server exits 0.
cp imx-boot-sd.bin slow/imx-boot-sd.bin 2>/dev/null || { mkdir -p slow; cp imx-boot-sd.bin slow/; }
head -c 400000 /dev/urandom >> slow/imx-boot-sd.bin
curl --silent --fail --limit-rate 200K -X POST -F machine=imx8mp -F soctype=mx8m \
	-F cstversion=3.3.2 -F "csf=@flash.csf;type=text/plain" \
	-F "artifact=@slow/imx-boot-sd.bin" --output slow.bin "$URL/sign/imx" &
cpid=$!
sleep 0.7
srv_stop
wait "$cpid" || srv_fail "in-flight request failed during shutdown"
verify_blob "$T/client/slow.bin" "$T/client/slow/imx-boot-sd.bin" "$T/vslow"
grep -q "shutting down" "$SRV_LOG" || srv_fail "no shutdown log line"
srv_spool_empty

# Spool: an upload within spool_memory_max never touches the disk; a larger one (here
# with a 16K limit) spills to a 0600 file in the 0700 spool while it arrives; a chunked
# upload (no Content-Length) grows in memory up to the limit. All sign and verify, and
# the spool ends empty.
echo "spool_memory_max = 16K" >> "$T/server.conf"
srv_start
curl --silent --fail --limit-rate 200K -X POST -F machine=imx8mp -F soctype=mx8m \
	-F cstversion=3.3.2 -F "csf=@flash.csf;type=text/plain" \
	-F "artifact=@slow/imx-boot-sd.bin" --output spill.bin "$URL/sign/imx" &
cpid=$!
seen=
for _ in $(seq 1 40); do
	f=$(find "$T/spool" -type f -name 'bs-up-*' | head -n1)
	if [ -n "$f" ]; then seen=$(stat -c %a "$f" 2>/dev/null || true); [ -n "$seen" ] && break; fi
	sleep 0.05
done
wait "$cpid" || srv_fail "spilled upload failed"
[ "$seen" = 600 ] || srv_fail "no 0600 spool file while a large upload arrived (mode '$seen')"
[ "$(stat -c %a "$T/spool")" = 700 ] || srv_fail "spool directory is not 0700"
verify_blob "$T/client/spill.bin" "$T/client/slow/imx-boot-sd.bin" "$T/vspill"
srv_spool_empty
curl --silent --fail -H "Transfer-Encoding: chunked" -X POST -F machine=imx8mp \
	-F soctype=mx8m -F cstversion=3.3.2 -F "csf=@flash.csf;type=text/plain" \
	-F "artifact=@imx-boot-sd.bin" --output chunked.bin "$URL/sign/imx" ||
	srv_fail "chunked upload failed"
verify_blob "$T/client/chunked.bin" "$T/client/imx-boot-sd.bin" "$T/vchunked"
grep 'endpoint=/sign/imx' "$SRV_LOG" | tail -n1 | grep -q "signed=sha256:$blocks," ||
	srv_fail "log lacks the digest signed for the chunked upload"
srv_spool_empty
srv_stop
echo "test_server_imx: ok"
