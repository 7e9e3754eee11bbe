#!/usr/bin/env bash
# Build the Debian package offline (dpkg-buildpackage -us -uc -b) from a copy of the tree,
# unpack it into a scratch root (dpkg -x) and check: the files, the conffile, the man
# pages, the unit (systemd-analyze verify; systemd-analyze security --offline=true
# exposure <= 2.0), the sysusers/tmpfiles entries, and lintian (errors fail).
# Usage: tests/pkg/test_deb.sh [SRCDIR]   (run by scripts/test.sh in CI; needs the tools
# from scripts/deps.sh test)
set -euo pipefail
SRC=$(cd "${1:-$(dirname "$0")/../..}" && pwd)
fail() { echo "FAIL: $*" >&2; exit 1; }
for t in dpkg-buildpackage dh help2man lintian systemd-analyze; do
	command -v "$t" > /dev/null || fail "$t missing (scripts/deps.sh test)"
done
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
start=$(date +%s)

# A clean copy: tracked and new files, no build trees.
mkdir "$W/bootsign"
(cd "$SRC" && git ls-files -co --exclude-standard -z | grep -zv '^build/' |
	xargs -0 cp --parents -t "$W/bootsign")
(cd "$W/bootsign" && DEB_BUILD_OPTIONS="parallel=$(nproc) nocheck" \
	dpkg-buildpackage -us -uc -b > "$W/build.log" 2>&1) ||
	{ tail -n 40 "$W/build.log" >&2; fail "dpkg-buildpackage failed"; }
deb=$(ls "$W"/bootsign_*.deb)
[ -f "$deb" ] || fail "no .deb built"

# Files in the package.
R=$W/root
dpkg -x "$deb" "$R"
dpkg-deb -e "$deb" "$W/control"
for f in usr/bin/bootsign etc/bootsign/bootsign.conf lib/systemd/system/bootsign.service \
	usr/lib/sysusers.d/bootsign.conf usr/lib/tmpfiles.d/bootsign.conf \
	usr/share/man/man1/bootsign.1.gz usr/share/doc/bootsign/copyright; do
	[ -e "$R/$f" ] || fail "missing /$f; package holds: $(cd "$R" && find . -type f | head -50)"
done
for c in serve sign client client-imx client-sign hab srk hsm pki; do
	[ -e "$R/usr/share/man/man1/bootsign-$c.1.gz" ] || fail "no man page bootsign-$c(1)"
	zcat "$R/usr/share/man/man1/bootsign-$c.1.gz" | grep -q '^\.SH' || fail "bootsign-$c.1 empty"
done
zcat "$R/usr/share/man/man1/bootsign-client-imx.1.gz" | grep -q -- 'digest\\-only' ||
	fail "bootsign-client-imx(1) does not describe --digest-only"
grep -qx /etc/bootsign/bootsign.conf "$W/control/conffiles" || fail "bootsign.conf is not a conffile"
"$R/usr/bin/bootsign" --version | grep -q '^bootsign ' || fail "packaged binary does not run"
grep -q '^u bootsign ' "$R/usr/lib/sysusers.d/bootsign.conf" || fail "no bootsign system user"
grep -q '/var/lib/bootsign' "$R/usr/lib/tmpfiles.d/bootsign.conf" || fail "no state directory"
grep -q 'systemd-sysusers' "$W/control/postinst" || fail "postinst does not create the user"

# The unit: syntax and references (the packaged binary, run from the scratch root), then
# the exposure score.
U=$R/lib/systemd/system/bootsign.service
grep -q '^Type=notify$' "$U" || fail "unit is not Type=notify"
sed "s|/usr/bin/bootsign|$R/usr/bin/bootsign|" "$U" > "$W/bootsign.service"
systemd-analyze verify --man=no "$W/bootsign.service" > "$W/verify.log" 2>&1 ||
	{ cat "$W/verify.log" >&2; fail "systemd-analyze verify"; }
! grep -v -e 'Failed to create /init.scope' -e 'SO_PASSCRED' -e 'Cannot find unit' \
	"$W/verify.log" | grep -qi 'bootsign' ||
	{ cat "$W/verify.log" >&2; fail "systemd-analyze verify warns about the unit"; }
systemd-analyze security --offline=true --no-pager "$W/bootsign.service" > "$W/sec.log" 2>&1 || true
score=$(sed -n 's/.*Overall exposure level for bootsign.service: \([0-9.]*\).*/\1/p' "$W/sec.log")
[ -n "$score" ] || { cat "$W/sec.log" >&2; fail "no exposure level"; }
awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }' ||
	{ grep '✗' "$W/sec.log" >&2 || true; fail "exposure $score > 2.0"; }

# lintian: no errors (warnings are listed, not fatal).
lintian --no-tag-display-limit "$deb" > "$W/lintian.log" 2>&1 || true
if grep -q '^E: ' "$W/lintian.log"; then
	grep '^E: ' "$W/lintian.log" >&2
	fail "lintian errors"
fi
echo "ok: $(basename "$deb"), exposure $score, lintian: $(grep -c '^W: ' "$W/lintian.log") warnings," \
	"$(( $(date +%s) - start )) s"
