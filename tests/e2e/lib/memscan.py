#!/usr/bin/env python3
"""memscan.py [--locked] PID NEEDLE_HEX... : print the needles (hex) found in the readable
memory of PID (/proc/PID/maps + /proc/PID/mem; run as root for a non-dumpable process), one
per line. --locked: only the mappings locked in memory (VmFlags "lo" in /proc/PID/smaps).
"""
import re
import sys

CHUNK = 16 << 20
OVERLAP = 256          # longer than any needle
SKIP_OVER = 1 << 30    # mappings larger than this are skipped (sanitizer shadow)


def locked_ranges(pid):
    ranges, cur = set(), None
    with open(f"/proc/{pid}/smaps") as smaps:
        for line in smaps:
            m = re.match(r"([0-9a-f]+)-([0-9a-f]+) ", line)
            if m:
                cur = (int(m.group(1), 16), int(m.group(2), 16))
            elif line.startswith("VmFlags:") and "lo" in line.split()[1:] and cur:
                ranges.add(cur)
    return ranges


def main():
    args = sys.argv[1:]
    only = None
    if args and args[0] == "--locked":
        args = args[1:]
        only = locked_ranges(args[0])
    pid = args[0]
    needles = [bytes.fromhex(h) for h in args[1:]]
    found = set()
    with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", 0) as mem:
        for line in maps:
            m = re.match(r"([0-9a-f]+)-([0-9a-f]+) (\S+)", line)
            if not m or m.group(3)[0] != "r" or "[vvar" in line or "[vsyscall" in line:
                continue
            start, end = int(m.group(1), 16), int(m.group(2), 16)
            if end - start > SKIP_OVER:
                continue  # a sanitizer's shadow memory, not data
            if only is not None and (start, end) not in only:
                continue
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
