#!/bin/bash
# No banned C library calls under src/ (STYLE.md, as curl checks in CI): sprintf, vsprintf,
# strcpy, stpcpy, strcat, strncat, strncpy, gets. Use snprintf, memcpy with a checked
# length, or the bounded buffers of src/core/buf.h instead. The scanner is first run on a
# planted file, so a broken pattern fails the test instead of passing silently.
set -euo pipefail

: "${BS_SRCDIR:?}"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

BANNED='sprintf|vsprintf|strcpy|stpcpy|strcat|strncat|strncpy|gets'
# scan DIR: every call of a banned function in *.c / *.h below DIR (file:line:text)
scan() {
	grep -rnE --include='*.c' --include='*.h' \
		"(^|[^A-Za-z0-9_])($BANNED)[[:space:]]*\(" "$1" || true
}

# the scanner itself: each banned call is found, the bounded look-alikes are not
mkdir "$T/planted"
cat > "$T/planted/p.c" <<'C'
void f(char *d, const char *s, char *b, unsigned n)
{
	sprintf(d, "%s", s);
	vsprintf(d, s, 0);
	strcpy(d, s);
	stpcpy(d, s);
	strcat(d, s);
	strncat(d, s, n);
	strncpy(d, s, n);
	gets(b);
	snprintf(d, n, "%s", s);
	vsnprintf(d, n, s, 0);
	fgets(b, (int)n, 0);
	my_strcpy(d, s);
	bs_strcat_safe(d, s);
}
C
got=$(scan "$T/planted" | wc -l)
[ "$got" = 8 ] || fail "scanner found $got banned calls in the planted file, expected 8: $(scan "$T/planted")"

hits=$(scan "$BS_SRCDIR/src")
[ -z "$hits" ] || fail "banned functions under src/:
$hits"
echo PASS
