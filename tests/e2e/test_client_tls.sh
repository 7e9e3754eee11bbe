#!/usr/bin/env bash
# bootsign client over HTTPS with mutual TLS against a stand-in server that requires a
# client certificate: --cacert checks the server, --cert/--key present the client; a
# missing client certificate or an unknown server CA fails with the TLS error, no output.
set -euo pipefail
. "$BS_SRCDIR/tests/e2e/lib/stub.sh"
stub_setup

# a CA, a server certificate for 127.0.0.1, a client certificate; another CA
ossl() { openssl "$@" 2>/dev/null; }
for ca in ca other; do
	ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-subj "/CN=test $ca" -keyout "$ca.key" -out "$ca.pem"
done
leaf() { # NAME EXT
	ossl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$1" \
		-keyout "$1.key" -out "$1.csr"
	printf '%s\n' "$2" > "$1.ext"
	ossl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
		-extfile "$1.ext" -out "$1.pem"
}
leaf server "subjectAltName=IP:127.0.0.1"
leaf client "extendedKeyUsage=clientAuth"
chmod 600 client.key

STUB_TLS="server.pem server.key ca.pem" stub_start 200
sign() { "$BS_BIN" client sign demo --server "$URL" --field a=b "$@"; }

sign --cacert ca.pem --cert client.pem --key client.key -o ok.txt 2> err.txt ||
	fail "mutual TLS: $(cat err.txt)"
grep -q '^signed:' ok.txt || fail "answer: $(cat ok.txt)"
if sign --cacert ca.pem -o nocert.txt 2> err.txt; then fail "no client certificate accepted"; fi
grep -q "demo: $URL/sign/demo: " err.txt || fail "no client cert: $(cat err.txt)"
[ ! -e nocert.txt ] || fail "output written without a client certificate"
if sign --cacert other.pem --cert client.pem --key client.key -o badca.txt 2> err.txt; then
	fail "server certificate from an unknown CA accepted"
fi
grep -qi "certificate" err.txt || fail "unknown CA: $(cat err.txt)"
[ ! -e badca.txt ] || fail "output written for an unverified server"
[ "$(wc -l < log)" = 1 ] || fail "requests reached the server without TLS checks: $(cat log)"
echo ok
