#!/usr/bin/env python3
"""memscan.py PID NEEDLE_HEX... : print the needles (hex) found in the readable memory of
PID (/proc/PID/maps + /proc/PID/mem; run as root for a non-dumpable process), one per line.
"""
import re
import sys


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
            try:
                mem.seek(start)
                data = mem.read(end - start)
            except (OSError, ValueError, OverflowError):
                continue
            for n in needles:
                if n in data:
                    found.add(n.hex())
    for h in sorted(found):
        print(h)


main()
