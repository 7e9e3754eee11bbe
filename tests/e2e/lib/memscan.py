#!/usr/bin/env python3
"""memscan.py PID NEEDLE_HEX... : print the needles (hex) found in the readable memory of
PID (/proc/PID/maps + /proc/PID/mem; run as root for a non-dumpable process), one per line.
"""
import re
import sys

CHUNK = 16 << 20
OVERLAP = 256          # longer than any needle
SKIP_OVER = 1 << 30    # mappings larger than this are skipped (sanitizer shadow)


def main():
    pid = sys.argv[1]
    needles = [bytes.fromhex(h) for h in sys.argv[2:]]
    found = set()
    with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", 0) as mem:
        for line in maps:
            m = re.match(r"([0-9a-f]+)-([0-9a-f]+) (\S+)", line)
            if not m or m.group(3)[0] != "r" or "[vvar" in line or "[vsyscall" in line:
                continue
            start, end = int(m.group(1), 16), int(m.group(2), 16)
            if end - start > SKIP_OVER:
                continue  # a sanitizer's shadow memory, not data
            tail = b""
            for off in range(start, end, CHUNK):
                try:
                    mem.seek(off)
                    data = tail + mem.read(min(CHUNK, end - off))
                except (OSError, ValueError, OverflowError):
                    tail = b""
                    continue
                for n in needles:
                    if n in data:
                        found.add(n.hex())
                tail = data[-OVERLAP:]
    for h in sorted(found):
        print(h)


main()
