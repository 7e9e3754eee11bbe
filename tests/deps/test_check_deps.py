#!/usr/bin/env python3
"""check_deps.py can fail: run it on this build's objects plus the planted violations in
tests/deps/planted/ (never linked) and assert exit 1 with exactly the expected lines; then
check that an allowance silences its arrow and that an unused allowance is reported."""
import argparse
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
Z = "src/formats/zz/zz_"

EXPECTED = [
    "include: src/crypto/zz_planted.c:3 includes src/keys/store.h (crypto -> keys is not "
    "allowed)",
    "layer: src/crypto/zz_planted.c -> src/keys/store.c (crypto -> keys is not allowed; "
    "uses bs_store_open_dir)",
    "mutual: src/sign/zz_ping.c <-> src/sign/zz_pong.c (src/sign/zz_ping.c uses bs_zz_pong, "
    "src/sign/zz_pong.c uses bs_zz_ping)",
    f"cycle: 3 files reach each other: {Z}a.c {Z}b.c {Z}c.c (e.g. {Z}a.c uses bs_zz_b, "
    f"{Z}b.c uses bs_zz_c, {Z}c.c uses bs_zz_a)",
    # the second arrow of this cycle is whichever real keys/ file uses crypto/ first
    "layer cycle: crypto -> keys -> crypto (src/crypto/zz_planted.c uses bs_store_open_dir "
    "of src/keys/store.c; src/keys/",
]


def run(args, allow):
    cmd = [sys.executable, os.path.join(HERE, "check_deps.py"), "--nm", args.nm,
           "--allow", allow, "--src-root", args.src_root, "--src-root", args.planted_root,
           "--list", args.objects, "--list", args.planted]
    p = subprocess.run(cmd, capture_output=True, text=True)
    return p.returncode, p.stdout.splitlines()


def matches(line, want):
    return line == want or (want.endswith("src/keys/") and line.startswith(want))


def expect(name, got, want_rc, want_lines):
    rc, lines = got
    ok = rc == want_rc and len(lines) == len(want_lines) and all(
        any(matches(line, w) for line in lines) for w in want_lines)
    print(f"{'ok  ' if ok else 'FAIL'} {name}: exit {rc}")
    if not ok:
        print(f"  want exit {want_rc} and:", *want_lines, "  got:", *lines, sep="\n    ")
    return ok


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nm", default="nm")
    ap.add_argument("--allow", required=True)
    ap.add_argument("--src-root", required=True)
    ap.add_argument("--planted-root", required=True)
    ap.add_argument("--objects", required=True)
    ap.add_argument("--planted", required=True)
    args = ap.parse_args()
    ok = expect("planted violations are reported", run(args, args.allow), 1, EXPECTED)
    with open(args.allow, encoding="utf-8") as f:
        base = f.read()
    with tempfile.TemporaryDirectory() as tmp:
        allow = os.path.join(tmp, "allow.txt")
        with open(allow, "w", encoding="utf-8") as f:
            f.write(base + "\nsrc/crypto/zz_planted.c -> keys  # test\n"
                    "src/formats/zz/zz_a.c -> http  # test: never happens\n")
        stale = ("stale allowance: " + allow + ":" + str(base.count("\n") + 3) +
                 ": src/formats/zz/zz_a.c -> http no longer happens; delete the line")
        ok &= expect("an allowance silences its arrow; an unused one is reported",
                     run(args, allow), 1, [l for l in EXPECTED if l.startswith(("mutual",
                     "cycle", "layer cycle"))] + [stale])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
