#!/usr/bin/env python3
"""Check bootsign's dependency rules on the built objects (see docs/architecture.md).

Usage: check_deps.py [--nm NM] [--allow FILE] [--src-root DIR]... [--list FILE]... [OBJECT]...

Reads the symbol tables of the object files with nm: an object "uses" another when it
has an undefined symbol the other defines. Each object is mapped back to its source file
from its path (CMake names them .../src/<layer>/<file>.c.o; formats/<fmt>/ is the layer
"formats"). Fails (exit 1, one line per violation) on
  - a layer arrow outside ALLOWED (both files and one symbol named),
  - two files that use each other's symbols,
  - a longer cycle of files, or a cycle of layers,
  - with --src-root: an #include "<layer>/..." line crossing a layer outside ALLOWED (a
    dependency on types alone leaves no symbol), and a src/ .c file with no object,
  - a line of the allowance file that no longer matches anything (delete it).
The allowance file holds temporary exceptions, "src/<file>.c -> <layer>  # reason".
"""
import argparse
import os
import re
import subprocess
import sys

LAYERS = ("core", "crypto", "keys", "formats", "sign", "auth", "http", "client", "cli")

# Layer -> layers it may use directly (besides itself). Everything may use core; cli may
# use anything. The key interface (crypto/key.h) lives in crypto, so formats -> crypto.
ALLOWED = {
    "core": set(),
    "crypto": {"core"},
    "keys": {"crypto", "core"},
    "formats": {"crypto", "core"},
    "sign": {"formats", "keys", "crypto", "core"},
    "auth": {"crypto", "core"},
    "http": {"sign", "auth", "core"},
    "client": {"formats", "crypto", "core"},
    "cli": set(LAYERS),
}

LAYER_DIR = r"(?:core|crypto|keys|formats/[^/]+|sign|auth|http|client|cli)/"
SRC_RE = re.compile(r"(?:^|/)src/(" + LAYER_DIR + r".+\.c)\.o(?:bj)?$")
HDR_RE = re.compile(r"src/" + LAYER_DIR + r".+\.h")


def layer_of(src):
    """"src/formats/hab/x.c" -> "formats"."""
    return src.split("/")[1]


def source_of(obj):
    m = SRC_RE.search(obj.replace("\\", "/"))
    if not m:
        return None
    return "src/" + m.group(1)


def read_symbols(nm, objects):
    """Returns ({src: set(defined)}, {src: set(undefined)})."""
    defined = {}
    undefined = {}
    chunk = 200
    for i in range(0, len(objects), chunk):
        part = objects[i:i + chunk]
        out = subprocess.run([nm, "-A", *part], check=True, capture_output=True,
                             text=True).stdout
        for line in out.splitlines():
            path, sep, rest = line.partition(":")
            if not sep:
                continue
            fields = rest.split()
            if len(fields) < 2:
                continue
            kind, sym = fields[-2], fields[-1]
            src = source_of(path)
            if src is None:
                continue
            if kind == "U":
                undefined.setdefault(src, set()).add(sym)
            elif kind.isupper() or kind in ("v", "w") and len(fields) == 3:
                defined.setdefault(src, set()).add(sym)
    return defined, undefined


INCLUDE_RE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def include_graph(roots, sources):
    """Direct #include "..." lines of the compiled sources and of every project header they
    reach: {file: {included header: line number}} (a type-only dependency has no symbol).
    Each file is read from the first root holding it."""
    def read(path):
        for root in roots:
            try:
                with open(os.path.join(root, path), encoding="utf-8") as f:
                    return f.read()
            except OSError:
                pass
        return None

    edges = {}
    todo = list(sources)
    while todo:
        src = todo.pop()
        if src in edges:
            continue
        edges[src] = {}
        text = read(src)
        if text is None:
            raise SystemExit(f"check_deps: {src} not found under {roots}")
        for m in INCLUDE_RE.finditer(text):
            hdr = "src/" + m.group(1)
            if HDR_RE.fullmatch(hdr) and read(hdr) is not None:
                edges[src][hdr] = text.count("\n", 0, m.start()) + 1
                todo.append(hdr)
    return edges


def file_graph(defined, undefined):
    """Returns {a: {b: sorted symbols of b that a uses}} for a != b, and duplicates."""
    owner = {}
    dups = []
    for src in sorted(defined):
        for sym in defined[src]:
            if sym in owner and owner[sym] != src:
                dups.append((sym, owner[sym], src))
            owner.setdefault(sym, src)
    edges = {}
    for a in sorted(undefined):
        for sym in sorted(undefined[a]):
            b = owner.get(sym)
            if b is None or b == a:
                continue
            edges.setdefault(a, {}).setdefault(b, []).append(sym)
    return edges, dups


def sccs(nodes, succ):
    """Tarjan's strongly connected components (iterative); only those with > 1 node."""
    index = {}
    low = {}
    stack = []
    on = set()
    out = []
    counter = [0]
    for root in sorted(nodes):
        if root in index:
            continue
        work = [(root, iter(sorted(succ.get(root, ()))))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        on.add(root)
        while work:
            v, it = work[-1]
            nxt = next(it, None)
            if nxt is not None:
                if nxt not in index:
                    index[nxt] = low[nxt] = counter[0]
                    counter[0] += 1
                    stack.append(nxt)
                    on.add(nxt)
                    work.append((nxt, iter(sorted(succ.get(nxt, ())))))
                elif nxt in on:
                    low[v] = min(low[v], index[nxt])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    out.append(sorted(comp))
    return out


def cycle_in(comp, succ):
    """One simple cycle through the first node of a strongly connected component."""
    members = set(comp)
    start = comp[0]
    prev = {start: None}
    queue = [start]
    while queue:
        v = queue.pop(0)
        for w in sorted(succ.get(v, ())):
            if w not in members:
                continue
            if w == start:
                path = [v]
                while prev[path[-1]] is not None:
                    path.append(prev[path[-1]])
                return list(reversed(path)) + [start]
            if w not in prev:
                prev[w] = v
                queue.append(w)
    return comp + [start]


def read_allowances(path):
    allow = {}
    if not path:
        return allow
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            text = line.split("#", 1)[0].strip()
            if not text:
                continue
            m = re.fullmatch(r"(src/\S+\.c)\s*->\s*(\w+)", text)
            if not m or m.group(2) not in LAYERS:
                raise SystemExit(f"{path}:{n}: expected 'src/<file>.c -> <layer>'")
            allow[(m.group(1), m.group(2))] = f"{path}:{n}"
    return allow


def check(edges, allow, includes=None):
    problems = []
    used = set()
    for a in sorted(includes or {}):
        for h in sorted(includes[a]):
            la, lh = layer_of(a), layer_of(h)
            if la == lh or lh in ALLOWED[la]:
                continue
            if (a, lh) in allow:
                used.add((a, lh))
                continue
            problems.append(f"include: {a}:{includes[a][h]} includes {h} "
                            f"({la} -> {lh} is not allowed)")
    layer_succ = {}
    layer_example = {}
    for a in sorted(edges):
        for b in sorted(edges[a]):
            la, lb = layer_of(a), layer_of(b)
            sym = edges[a][b][0]
            if la != lb:
                layer_succ.setdefault(la, set()).add(lb)
                layer_example.setdefault((la, lb), (a, b, sym))
            if la == lb or lb in ALLOWED[la]:
                continue
            if (a, lb) in allow:
                used.add((a, lb))
                continue
            problems.append(f"layer: {a} -> {b} ({la} -> {lb} is not allowed; uses {sym})")
    for a in sorted(edges):
        for b in sorted(edges[a]):
            if a < b and a in edges.get(b, {}):
                problems.append(f"mutual: {a} <-> {b} ({a} uses {edges[a][b][0]}, "
                                f"{b} uses {edges[b][a][0]})")
    succ = {a: set(edges[a]) for a in edges}
    for comp in sccs(set(edges), succ):
        if len(comp) < 3:  # a pair, reported above
            continue
        cyc = cycle_in(comp, succ)
        hops = ", ".join(f"{x} uses {edges[x][y][0]}" for x, y in zip(cyc, cyc[1:]))
        problems.append(f"cycle: {len(comp)} files reach each other: {' '.join(comp)} "
                        f"(e.g. {hops})")
    for comp in sccs(set(layer_succ), layer_succ):
        cyc = cycle_in(comp, layer_succ)
        hops = "; ".join("{0} uses {2} of {1}".format(*layer_example[(x, y)])
                         for x, y in zip(cyc, cyc[1:]))
        problems.append(f"layer cycle: {' -> '.join(cyc)} ({hops})")
    for key in sorted(set(allow) - used):
        problems.append(f"stale allowance: {allow[key]}: {key[0]} -> {key[1]} "
                        "no longer happens; delete the line")
    return problems


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nm", default="nm")
    ap.add_argument("--allow", help="file of temporary allowances")
    ap.add_argument("--list", action="append", default=[],
                    help="file naming objects, one per line or ';'-separated")
    ap.add_argument("--src-root", action="append", default=[],
                    help="directory holding src/: also check the #include lines of the "
                    "sources (a dependency on types only has no symbol); repeatable")
    ap.add_argument("--graph", action="store_true", help="print the layer arrows found")
    ap.add_argument("objects", nargs="*")
    args = ap.parse_args()
    objects = list(args.objects)
    for path in args.list:
        with open(path, encoding="utf-8") as f:
            objects += [o.strip() for o in re.split(r"[;\n]", f.read()) if o.strip()]
    unmapped = [o for o in objects if source_of(o) is None]
    if unmapped or not objects:
        print(f"check_deps: no src/<layer>/ source for: {unmapped or 'no objects given'}")
        return 2
    defined, undefined = read_symbols(args.nm, objects)
    edges, dups = file_graph(defined, undefined)
    problems = [f"duplicate: {s} defined in {a} and {b}" for s, a, b in dups]
    includes = None
    if args.src_root:
        built = {source_of(o) for o in objects}
        includes = include_graph(args.src_root, sorted(built))
        root = args.src_root[0]
        for dirpath, _, names in os.walk(os.path.join(root, "src")):
            for name in names:
                src = os.path.relpath(os.path.join(dirpath, name), root).replace("\\", "/")
                if name.endswith(".c") and src not in built:
                    problems.append(f"unchecked: {src} has no object in this build")
    problems += check(edges, read_allowances(args.allow), includes)
    if args.graph:
        arrows = sorted({(layer_of(a), layer_of(b)) for a in edges for b in edges[a]
                         if layer_of(a) != layer_of(b)})
        for la, lb in arrows:
            print(f"arrow: {la} -> {lb}")
    for p in problems:
        print(p)
    print(f"check_deps: {len(objects)} objects, "
          f"{sum(len(v) for v in edges.values())} file arrows, {len(problems)} problems",
          file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
