#!/usr/bin/env python3
"""Checks the workspace's shape, as .ci/run does after clippy:

1. no library crate depends (normal edges) on clap, anyhow, indicatif or
   tracing-subscriber: those belong to the binaries (`cargo tree`);
2. no module cycle inside any crate (cargo already refuses crate cycles);
3. no source file over 600 lines and no function over 150 lines, outside
   tests (`tests/`, `benches/`, and a file's `#[cfg(test)]` tail).

Module graph: every `crate::a::b…`, `super::…` and `self::…` path in a
module's non-test code is an edge from that module to the module the path
names (the longest prefix that is a module; `pub use` re-exports of the
crate root are followed). A module using its own ancestor or descendant is
not a cycle (a parent holds its children); any other edge is lifted to the
two siblings under their common parent, and a strongly connected component
of two or more siblings is a cycle.

Exit status 1 and one line per finding when anything is wrong.
"""

import json
import os
import re
import subprocess
import sys

MAX_FILE_LINES = 600
MAX_FN_LINES = 150
BINARY_ONLY = ["clap", "anyhow", "indicatif", "tracing-subscriber"]
# Crates that exist for their binaries or for tests, not as libraries.
NOT_LIBRARIES = {"trees-cli", "trees-benches", "trees-testdata"}

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
problems = []


def workspace_members():
    meta = json.loads(
        subprocess.check_output(
            ["cargo", "metadata", "--no-deps", "--format-version", "1"], cwd=ROOT
        )
    )
    return [(p["name"], os.path.dirname(p["manifest_path"])) for p in meta["packages"]]


def check_dependencies(members):
    for name, _ in members:
        if name in NOT_LIBRARIES:
            continue
        out = subprocess.check_output(
            ["cargo", "tree", "-q", "-p", name, "-e", "normal", "--prefix", "none"],
            cwd=ROOT,
            text=True,
        )
        deps = {line.split()[0] for line in out.splitlines() if line.strip()}
        for bad in BINARY_ONLY:
            if bad in deps:
                problems.append(f"{name}: library depends on {bad} (binaries only)")


def strip_code(text):
    """The text with comments, strings and char literals blanked (newlines kept)."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            i = j
        elif text.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if text.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif text.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            out.append("\n" * text.count("\n", i, j))
            i = j
        elif (m := re.match(r'b?r(#*)"', text[i:])) and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            end = '"' + m.group(1)
            j = text.find(end, i + m.end())
            j = n if j < 0 else j + len(end)
            out.append('""' + "\n" * text.count("\n", i, j))
            i = j
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            j += 1
            out.append('""' + "\n" * text.count("\n", i, j))
            i = j
        elif c == "'" and (m := re.match(r"'(\\.[^']*|[^\\'\n])'", text[i:])):
            out.append("' '")
            i += m.end()
        else:
            out.append(c)
            i += 1
    return "".join(out)


def non_test_part(code):
    """Code before the file's `#[cfg(test)]` tail."""
    m = re.search(r"^\s*#\[cfg\(test\)\]", code, re.M)
    return code[: m.start()] if m else code


def check_sizes(path, code):
    lines = code.count("\n")
    rel = os.path.relpath(path, ROOT)
    if lines > MAX_FILE_LINES:
        problems.append(f"{rel}: {lines} lines outside tests (max {MAX_FILE_LINES})")
    for m in re.finditer(r"\bfn\s+([A-Za-z_][A-Za-z0-9_]*)", code):
        # The body starts at the first `{` after the signature; a `;` first
        # means a declaration without a body (trait method).
        j = m.end()
        depth_paren = 0
        while j < len(code):
            ch = code[j]
            if ch in "([<":
                depth_paren += 1
            elif ch in ")]>":
                depth_paren -= 1
            elif ch == ";" and depth_paren <= 0:
                j = -1
                break
            elif ch == "{" and depth_paren <= 0:
                break
            j += 1
        if j < 0 or j >= len(code):
            continue
        depth, k = 0, j
        while k < len(code):
            if code[k] == "{":
                depth += 1
            elif code[k] == "}":
                depth -= 1
                if depth == 0:
                    break
            k += 1
        n = code.count("\n", m.start(), k) + 1
        if n > MAX_FN_LINES:
            line = code.count("\n", 0, m.start()) + 1
            problems.append(f"{rel}:{line}: fn {m.group(1)} is {n} lines (max {MAX_FN_LINES})")


def module_files(src):
    """{module path tuple: file} for a crate's src/ (lib.rs or main.rs roots)."""
    mods = {}
    for dirpath, _, files in os.walk(src):
        for f in files:
            if not f.endswith(".rs"):
                continue
            full = os.path.join(dirpath, f)
            parts = os.path.relpath(full, src)[:-3].split(os.sep)
            if parts[-1] in ("lib", "main", "mod"):
                parts = parts[:-1]
            mods[tuple(parts)] = full
    return mods


PATH = re.compile(r"\b(crate|super|self)((?:::\w+)+)")
USE = re.compile(r"\buse\s+([^;]+);", re.S)


def expand_use(tree):
    """`a::{b, c::{d}}` → ["a::b", "a::c::d"]."""
    tree = re.sub(r"\s+", "", tree)
    m = re.match(r"^(.*?)\{(.*)\}$", tree)
    if not m:
        return [re.sub(r"::self$", "", re.sub(r"as\w+$", "", tree))]
    prefix, inner = m.group(1), m.group(2)
    parts, depth, cur = [], 0, ""
    for ch in inner:
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
            continue
        depth += ch == "{"
        depth -= ch == "}"
        cur += ch
    parts.append(cur)
    out = []
    for p in parts:
        if p:
            out += [prefix + q if q != "self" else prefix.rstrip(":") for q in expand_use(p)]
    return out


def check_cycles(crate, src):
    mods = {k: v for k, v in module_files(src).items() if not (k and k[0] == "bin")}
    if not mods:
        return
    aliases = {}
    root = mods.get((), None)
    if root:
        for m in re.finditer(r"\bpub\s+use\s+([\w:]+)::(\w+)\s*;", strip_code(open(root).read())):
            aliases[m.group(2)] = tuple(m.group(1).split("::"))
    edges = set()
    for here, file in mods.items():
        code = non_test_part(strip_code(open(file).read()))
        paths = []
        for m in USE.finditer(code):
            paths += expand_use(m.group(1))
        paths += [m.group(0) for m in PATH.finditer(code)]
        for p in paths:
            segs = [s for s in p.split("::") if s]
            if not segs or segs[0] not in ("crate", "super", "self"):
                continue
            if segs[0] == "crate":
                base, rest = (), segs[1:]
            else:
                # super/self count from the module a file is (mod.rs is its directory).
                base, rest = here, segs
                while rest and rest[0] in ("super", "self"):
                    if rest[0] == "super":
                        base = base[:-1]
                    rest = rest[1:]
            target = base + tuple(rest)
            if base == () and rest and rest[0] in aliases:
                target = aliases[rest[0]] + tuple(rest[1:])
            while target and target not in mods:
                target = target[:-1]
            a, b = here, target
            k = 0
            while k < min(len(a), len(b)) and a[k] == b[k]:
                k += 1
            if k == len(a) or k == len(b):
                continue  # ancestor or descendant
            edges.add((a[: k + 1], b[: k + 1]))
    # Tarjan's strongly connected components over the lifted edges.
    graph = {}
    for a, b in edges:
        graph.setdefault(a, set()).add(b)
        graph.setdefault(b, set())
    index, low, stack, on, comps, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            comps.append(comp)

    sys.setrecursionlimit(10000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    for comp in comps:
        if len(comp) > 1:
            names = sorted("::".join(c) for c in comp)
            why = sorted(f"{'::'.join(a)} -> {'::'.join(b)}" for a, b in edges if a in comp and b in comp)
            problems.append(f"{crate}: module cycle {{{', '.join(names)}}}: {'; '.join(why)}")


def main():
    members = workspace_members()
    if "--no-deps" not in sys.argv:
        check_dependencies(members)
    for name, dir_ in members:
        src = os.path.join(dir_, "src")
        if not os.path.isdir(src):
            continue
        for dirpath, _, files in os.walk(src):
            for f in files:
                if f.endswith(".rs"):
                    path = os.path.join(dirpath, f)
                    check_sizes(path, non_test_part(strip_code(open(path).read())))
        # Each binary is its own module tree.
        bins = os.path.join(src, "bin")
        if os.path.isdir(bins):
            for b in sorted(os.listdir(bins)):
                if os.path.isdir(os.path.join(bins, b)):
                    check_cycles(f"{name} (bin {b})", os.path.join(bins, b))
        if os.path.exists(os.path.join(src, "lib.rs")):
            check_cycles(name, src)
    for p in problems:
        print(p)
    if problems:
        print(f"check-structure: {len(problems)} problem(s)", file=sys.stderr)
        return 1
    print("check-structure: no binary-only dependency in a library, no module cycle, no file or fn over the limits")
    return 0


if __name__ == "__main__":
    sys.exit(main())
