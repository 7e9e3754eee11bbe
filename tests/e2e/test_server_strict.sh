#!/usr/bin/env bash
# Strict request parsing (issue 14 item 6): a form field sent twice is a 400 whether the
# first copy is empty or not, and an empty file part's name is never kept for the next
# part; conflicting framing headers, NUL / %00 / control bytes in the target and a media
# type that is not exactly multipart/form-data are refused before any signer runs.
set -euo pipefail
. "$BS_SRCDIR/tests/e2e/lib/server_common.sh"
RAW="python3 $BS_SRCDIR/tests/e2e/lib/hoard.py raw"
srv_setup
srv_start
cd "$T/client"
S=$URL/sign/imx
ok=(-F soctype=mx8m -F cstversion=3.3.2 -F "csf=@flash.csf;type=text/plain")

# expect STATUS SUBSTRING curl-args...
expect() {
	local want=$1 msg=$2 code
	shift 2
	code=$(curl --silent -m 10 --output body.txt --write-out '%{http_code}' "$@") || true
	[ "$code" = "$want" ] || srv_fail "$*: status $code, expected $want ($(head -c 200 body.txt))"
	grep -qF -- "$msg" body.txt || srv_fail "$*: body '$(head -c 200 body.txt)' lacks '$msg'"
}
# raw STATUS SUBSTRING printf-format [body-printf-format]: one hand-made request over a
# socket; with a body, a Content-Length header of its size ends the head
raw() {
	local want=$1 msg=$2 got
	printf -- "$3" > raw.req
	if [ $# -ge 4 ]; then
		printf -- "$4" > raw.body
		printf 'Content-Length: %s\r\n\r\n' "$(wc -c < raw.body)" >> raw.req
		cat raw.body >> raw.req
	fi
	got=$($RAW "$PORT" raw.req) || srv_fail "raw request failed"
	[ "$(head -n1 <<<"$got")" = "$want" ] || srv_fail "raw '$3': got '$got', expected $want"
	grep -qF -- "$msg" <<<"$got" || srv_fail "raw '$3': '$got' lacks '$msg'"
}

# control: the well-formed request signs
expect 200 "" -X POST -F machine=imx8mp "${ok[@]}" -F "artifact=@imx-boot-sd.bin" "$S"

# a field twice: empty or not, first or second copy
expect 400 "machine: field given more than once" -X POST -F machine=x -F machine=imx8mp "${ok[@]}" -F "artifact=@imx-boot-sd.bin" "$S"
expect 400 "machine: field given more than once" -X POST -F machine= -F machine=imx8mp "${ok[@]}" -F "artifact=@imx-boot-sd.bin" "$S"
expect 400 "machine: field given more than once" -X POST -F machine=imx8mp -F machine= "${ok[@]}" -F "artifact=@imx-boot-sd.bin" "$S"
: > empty.bin
expect 400 "artifact: field given more than once" -X POST -F machine=imx8mp "${ok[@]}" \
	-F "artifact=@empty.bin;filename=imx-boot-sd.bin" -F "artifact=@imx-boot-sd.bin;filename=other.bin" "$S"
expect 400 "csf: field given more than once" -X POST -F machine=imx8mp "${ok[@]}" -F "csf=@empty.bin" -F "artifact=@imx-boot-sd.bin" "$S"

# framing
B='--XYZ\r\nContent-Disposition: form-data; name="machine"\r\n\r\nimx8mp\r\n--XYZ--\r\n'
H='POST /sign/imx HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: multipart/form-data; boundary=XYZ\r\n'
raw 400 "Content-Length given more than once" "${H}Content-Length: 66\r\nContent-Length: 66\r\n\r\n$B"
raw 400 "Content-Length given more than once" "${H}Content-Length: 66\r\nContent-Length: 7\r\n\r\n$B"
raw 400 "Content-Length together with Transfer-Encoding" "${H}Content-Length: 66\r\nTransfer-Encoding: chunked\r\n\r\n$B"
raw 400 "Transfer-Encoding given more than once" "${H}Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"

# the request target
raw 400 "bad request target" 'GET /healthz\000x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'
raw 400 "bad request target" 'POST /sign/imx\000 HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 0\r\n\r\n'
raw 400 "bad request target" 'GET /healthz%%00 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'
raw 400 "bad request target" 'GET /healthz%%0a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'
raw 400 "bad request target" 'GET /healthz?x=%%00 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'
expect 400 "bad request target" -X POST -F machine=imx8mp "${ok[@]}" -F "artifact=@imx-boot-sd.bin" "$S%00"
raw 200 "ok" 'GET /heal%%74hz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'

# the media type: exactly multipart/form-data with one boundary
for ct in "multipart/form-data-x; boundary=XYZ" "multipart/form-dataX; boundary=XYZ" "multipart/mixed; boundary=XYZ"; do
	raw 400 "expected a multipart/form-data body" "POST /sign/imx HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: $ct\r\nContent-Length: 66\r\n\r\n$B"
done
raw 400 "boundary given more than once" "POST /sign/imx HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: multipart/form-data; boundary=XYZ; boundary=ABC\r\nContent-Length: 66\r\n\r\n$B"
raw 400 "Content-Type parameters" "POST /sign/imx HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: multipart/form-data; boundary=\r\nContent-Length: 66\r\n\r\n$B"
# parts: nested multipart, two dispositions, no name
raw 400 "nested multipart" "${H}" "--XYZ\r\nContent-Disposition: form-data; name=\"csf\"\r\nContent-Type: multipart/mixed; boundary=Q\r\n\r\n\r\n--XYZ--\r\n"
raw 400 "two Content-Disposition" "${H}" "--XYZ\r\nContent-Disposition: form-data; name=\"machine\"\r\nContent-Disposition: form-data; name=\"csf\"\r\n\r\nx\r\n--XYZ--\r\n"
raw 400 "Content-Disposition: name given more than once" "${H}" "--XYZ\r\nContent-Disposition: form-data; name=\"machine\"; name=\"csf\"\r\n\r\nx\r\n--XYZ--\r\n"

srv_healthy
srv_spool_empty
! grep -q "signed=[0-9a-f]" <(grep "status=400" "$SRV_LOG") || srv_fail "a refused request was signed"
srv_stop
echo "ok: strict request parsing"
