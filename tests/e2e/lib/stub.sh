# The scripted stand-in server for client tests (sourced): stub_setup makes T (a temp dir,
# removed on exit, also the working directory); stub_start ANSWER... starts
# tests/e2e/lib/stub_server.py there (HTTPS when STUB_TLS is set) and sets STUB_PID, URL;
# requests are logged to $T/log.
. "$BS_SRCDIR/tests/e2e/lib/common.sh"

stub_setup() {
	T=$(mktemp -d)
	STUB_PID=
	trap 'if [ -n "$STUB_PID" ]; then kill "$STUB_PID" 2>/dev/null; fi; rm -rf "$T"' EXIT
	cd "$T"
}

stub_start() {
	rm -f port
	python3 "$BS_SRCDIR/tests/e2e/lib/stub_server.py" port log "$@" &
	STUB_PID=$!
	for _ in $(seq 1 200); do [ -s port ] && break; sleep 0.05; done
	[ -s port ] || fail "stand-in server did not start"
	URL=http${STUB_TLS:+s}://127.0.0.1:$(cat port)
}
