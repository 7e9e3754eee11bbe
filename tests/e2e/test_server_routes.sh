#!/usr/bin/env bash
# Routes come from the signer table: GET /signers lists every endpoint with its fields
# (JSON), an unknown /sign/<x> is 404 naming the supported endpoints, a wrong method is
# 405 with the right Allow header for each path. And `bootsign sign imx` runs the same
# job offline: its blob is the server's (same signing time), checked by the verifier.
set -euo pipefail
. "$BS_SRCDIR/tests/e2e/lib/server_common.sh"
srv_setup
srv_start
srv_healthy
cd "$T/client"

# GET /signers: JSON that python's parser takes, with imx and its fields
code=$(curl --silent -o signers.json -w '%{http_code}' "$URL/signers")
[ "$code" = 200 ] || srv_fail "GET /signers: $code"
python3 - signers.json <<'PY' || srv_fail "GET /signers: wrong content"
import json, sys
d = json.load(open(sys.argv[1]))
s = {x["name"]: x for x in d["signers"]}
imx = s["imx"]
assert imx["endpoint"] == "/sign/imx", imx
f = {x["name"]: x for x in imx["fields"]}
assert f["artifact"]["file"] is True and f["artifact"]["required"] is False, f  # or digests
assert f["digests"]["file"] is False, f
assert f["backend"]["default"] == "ssl" and f["backend"]["choices"] == ["ssl", "pkcs11"], f
assert imx["subject"] == "machine"
PY

# unknown endpoint: 404 with the list
code=$(curl --silent -o body.txt -w '%{http_code}' -X POST -F machine=m "$URL/sign/nope")
[ "$code" = 404 ] || srv_fail "unknown signer: $code"
grep -q "unknown endpoint /sign/nope (supported: /sign/imx" body.txt ||
	srv_fail "404 body: $(cat body.txt)"
code=$(curl --silent -o body.txt -w '%{http_code}' "$URL/")
[ "$code" = 404 ] || srv_fail "GET /: $code"

# a misspelled field is refused, not ignored (it would sign with the default silently)
code=$(curl --silent -o body.txt -w '%{http_code}' -X POST -F machine=imx8mp -F soctype=mx8m \
	-F cstversion=3.3.2 -F backnd=pkcs11 -F "csf=@flash.csf;type=text/plain" \
	-F "artifact=@imx-boot-sd.bin" "$URL/sign/imx")
[ "$code" = 400 ] && grep -q "unknown field 'backnd' for /sign/imx (fields: machine, " body.txt ||
	srv_fail "unknown field: $code $(cat body.txt)"

# 405 with Allow for each kind of path
allow_of() { # METHOD PATH -> "code allow"
	curl --silent -o /dev/null -D h.txt -w '%{http_code}' -X "$1" "$URL$2" >code.txt || true
	printf '%s %s' "$(cat code.txt)" "$(tr -d '\r' < h.txt | sed -n 's/^[Aa]llow: //p')"
}
[ "$(allow_of GET /sign/imx)" = "405 POST" ] || srv_fail "GET /sign/imx: $(allow_of GET /sign/imx)"
[ "$(allow_of POST /healthz)" = "405 GET, HEAD" ] || srv_fail "POST /healthz"
[ "$(allow_of DELETE /signers)" = "405 GET, HEAD" ] || srv_fail "DELETE /signers"

# the same job offline: same blob as the server for the same signing time
export SOURCE_DATE_EPOCH=1700000000
srv_stop
srv_start
curl --silent --fail-with-body -X POST -F machine=imx8mp -F soctype=mx8m -F cstversion=3.3.2 \
	-F "csf=@flash.csf;type=text/plain" -F "artifact=@imx-boot-sd.bin" \
	--output srv.bin "$URL/sign/imx" || srv_fail "server signing failed"
"$BS_BIN" sign imx --keys "$T/keys" --machine imx8mp --field soctype=mx8m \
	--field cstversion=3.3.2 --field csf=@flash.csf -o cli.bin imx-boot-sd.bin 2>cli.err ||
	{ cat cli.err; srv_fail "bootsign sign imx failed"; }
cmp srv.bin cli.bin || srv_fail "CLI blob differs from the server's"
# the CSF given as a file (like curl -F "csf=@flash.csf") and the artifact by name
"$BS_BIN" sign imx --keys "$T/keys" --machine imx8mp --field soctype=mx8m \
	--field cstversion=3.3.2 --file csf=flash.csf --file artifact=imx-boot-sd.bin \
	-o cli2.bin 2>cli.err || { cat cli.err; srv_fail "bootsign sign imx --file csf= failed"; }
cmp srv.bin cli2.bin || srv_fail "--file csf= blob differs from the server's"
verify_blob "$T/client/cli.bin" "$T/client/imx-boot-sd.bin" "$T/vcli"
# CLI errors: exit 2 and the reason; nothing written
if "$BS_BIN" sign imx --keys "$T/keys" --machine imx8mp --field soctype=mx8m \
	--field cstversion=3.3.2 --field csf=@flash.csf -o bad.bin /etc/hostname 2>bad.err; then
	srv_fail "wrong artifact name signed"
fi
grep -q "Blocks name 'imx-boot-sd.bin' but the uploaded artifact is 'hostname'" bad.err ||
	srv_fail "CLI error: $(cat bad.err)"
[ ! -e bad.bin ] || srv_fail "output written on failure"
if "$BS_BIN" sign nope -o x 2>/dev/null; then srv_fail "unknown format accepted"; fi
srv_spool_empty
# a spool directory removed under the running server (an age-cleaned /tmp) shows in
# /healthz instead of failing every signing request behind an "ok"
mv "$T/spool" "$T/spool.gone"
code=$(curl --silent -o body.txt -w '%{http_code}' "$URL/healthz")
[ "$code" = 503 ] && grep -q "spool directory not writable" body.txt ||
	srv_fail "healthz with the spool gone: $code $(cat body.txt)"
mv "$T/spool.gone" "$T/spool"
srv_healthy
# a busy port says why, once
if "$BS_BIN" serve --address 127.0.0.1 --port "$PORT" --keys "$T/keys" 2>busy.err; then
	srv_fail "second server on a busy port started"
fi
[ "$(grep -c 'port is in use by another process' busy.err)" = 1 ] ||
	srv_fail "busy port: $(cat busy.err)"
srv_stop
echo "test_server_routes: ok"
