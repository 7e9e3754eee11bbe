#!/usr/bin/env bash
# bootsign client's transport against a scripted stand-in server: the bearer token (file
# or environment, never argv), retries only on 503 with Retry-After, every error answer
# shown with status, server text and request id, a progress line only on a terminal.
set -euo pipefail
. "$BS_SRCDIR/tests/e2e/lib/stub.sh"
stub_setup
# One stand-in server answering in this order (the last answer repeats).
stub_start 503:1 200 200 200 503 500 400 403 413 503:1 503:1 200
sign() { "$BS_BIN" client sign demo --server "$URL" --field a=b "$@"; }
# the requests logged since the last call (a file keeps the count: callers use $(...))
new_lines() { local n; n=$(wc -l < log); sed -n "$(( $(cat seen) + 1 )),\$p" log; echo "$n" > seen; }
echo 0 > seen
printf 'hello' > in.bin

# token from a 0600 file; a 503 with Retry-After is retried, then 200
printf 's3cret-token\n' > tok && chmod 600 tok
sign --token-file tok --file artifact=in.bin -o out.txt 2> err.txt || fail "retry: $(cat err.txt)"
grep -q '^signed:' out.txt || fail "answer not written: $(cat out.txt)"
new_lines > req.txt
[ "$(grep -c ' 503 ' req.txt)" = 1 ] && [ "$(grep -c ' 200 ' req.txt)" = 1 ] || fail "requests: $(cat req.txt)"
[ "$(grep -c 'auth=Bearer s3cret-token' req.txt)" = 2 ] || fail "token not sent: $(cat req.txt)"
grep -q "server busy (503, request id stub0001), retrying" err.txt || fail "no retry note: $(cat err.txt)"
# -o - writes the answer to standard output (a pipe: nothing to rewind)
sign -o - | grep -q '^signed:' || fail "-o - to a pipe"
new_lines > /dev/null
# the token from the environment; a token file others can read is refused (nothing sent)
BOOTSIGN_TOKEN=env-token sign -o out2.txt || fail "env token"
new_lines | grep -q 'auth=Bearer env-token' || fail "env token not sent: $(cat log)"
chmod 644 tok
if sign --token-file tok -o out3.txt 2> err.txt; then fail "0644 token file accepted"; fi
grep -q "tok" err.txt && ! grep -q s3cret err.txt || fail "token file error: $(cat err.txt)"

# a 503 without Retry-After and other errors are not retried; the text is shown
for st in 503 500 400 403 413; do
	if sign -o "e$st.txt" 2> err.txt; then fail "$st answered success"; fi
	[ "$(new_lines | wc -l)" = 1 ] || fail "$st was retried: $(cat log)"
	grep -q "demo: server answered $st (request id stub[0-9]*): stub says $st\$" err.txt ||
		fail "$st message: $(cat err.txt)"
	[ ! -e "e$st.txt" ] && [ -z "$(ls | grep '\.tmp\.')" ] || fail "$st left output: $(ls)"
done
# retries stop after --retries (here 1: two requests, both 503)
if sign --retries 1 -o busy.txt 2> err.txt; then fail "repeated 503 answered success"; fi
[ "$(new_lines | wc -l)" = 2 ] || fail "retries: $(cat log)"
grep -q "server answered 503 (request id stub[0-9]*)" err.txt || fail "last 503: $(cat err.txt)"

# progress: on a terminal only, for large uploads
head -c $((17 << 20)) /dev/zero > big.bin
sign --file artifact=big.bin -o big.txt 2> err.txt || fail "big upload"
! grep -q uploading err.txt || fail "progress without a terminal"
if command -v script > /dev/null; then
	script -qec "$BS_BIN client sign demo --server $URL --file artifact=big.bin -o big2.txt" \
		/dev/null > tty.txt 2>&1 || fail "big upload on a terminal: $(cat tty.txt)"
	grep -q "uploading 17 / 17 MiB (100%)" tty.txt || fail "no progress line: $(cat tty.txt)"
fi
# no server at all
kill "$STUB_PID"; wait "$STUB_PID" 2>/dev/null || true; STUB_PID=
if sign -o none.txt 2> err.txt; then fail "no server answered success"; fi
grep -q "demo: http://127.0.0.1:[0-9]*/sign/demo: " err.txt || fail "no server: $(cat err.txt)"

# usage errors
if "$BS_BIN" client sign demo -o x 2>/dev/null; then fail "no --server accepted"; fi
if "$BS_BIN" client imx --server "$URL" -o x img 2>/dev/null; then fail "no --csf accepted"; fi
if sign --cert c.pem -o x 2>/dev/null; then fail "--cert without --key accepted"; fi
if sign --retries 99 -o x 2>/dev/null; then fail "--retries 99 accepted"; fi
echo ok
