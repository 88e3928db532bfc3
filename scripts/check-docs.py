#!/usr/bin/env python3
"""The documentation holds together: links, anchors, every subcommand.

1. Every relative link and image of README.md and docs/*.md names a file
   (or directory) that exists, and every anchor (`#...`, alone or after a
   `.md` path) names a heading of that file, by GitHub's rules: the
   heading's text lowercased, punctuation other than hyphens, underscores
   and spaces dropped, each space a hyphen, and the second and later
   headings of one slug suffixed -1, -2, ...
2. Every subcommand that `silo --help` and `medo --help` list is
   documented in docs/guide.md: `silo NAME` appears in a heading or a
   code span there.

The binaries are target/release/silo and target/release/medo, brought up
to date with `cargo build --release -q -p trees-cli --bins` first (a no-op
in CI, whose first step, scripts/example.sh, builds them). Links to web
addresses are not fetched. Exits 1 naming the file, line and link (or
subcommand) of every failure. Standard library only.
"""

import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "docs" / "guide.md"
BINARIES = ("silo", "medo")

FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.*?)[ \t]*#*[ \t]*$")
# A code span: a run of backticks, then anything up to the same run; it may
# cross a line break but not a blank line.
CODE_SPAN = re.compile(r"(?<!`)(`+)(?!`)((?:(?!\n[ \t]*\n).)+?)(?<!`)\1(?!`)", re.S)
# An inline link or image: [text](target "title"); the target has no spaces
# (or is in angle brackets).
INLINE_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*(<[^>\n]*>|[^\s()]+)(?:\s+(?:\"[^\"]*\"|'[^']*'))?\s*\)")
REF_DEF = re.compile(r"^ {0,3}\[[^\]]+\]:\s*(<[^>\n]*>|\S+)", re.M)
HTML_ID = re.compile(r"<a\s+(?:name|id)=\"([^\"]+)\"", re.I)
SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


def blank_fences(text):
    """The text with every line of a fenced code block blanked (line count kept)."""
    out, fence = [], None
    for line in text.split("\n"):
        m = FENCE.match(line)
        if fence is None and m:
            fence = m.group(1)
            out.append("")
        elif fence is not None:
            if m and m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence) and not line.strip()[len(m.group(1)):].strip():
                fence = None
            out.append("")
        else:
            out.append(line)
    return "\n".join(out)


def rendered(heading):
    """The text GitHub renders for a heading's markdown (what its slug is made of)."""
    parts, last = [], 0
    for m in CODE_SPAN.finditer(heading):
        parts.append(("md", heading[last:m.start()]))
        parts.append(("code", m.group(2).strip()))
        last = m.end()
    parts.append(("md", heading[last:]))
    text = ""
    for kind, s in parts:
        if kind == "md":
            s = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", s)  # links and images: their text
            s = re.sub(r"<[^>]+>", "", s)  # inline HTML
            s = re.sub(r"(\*+|(?<!\w)_+|_+(?!\w))", "", s)  # emphasis markers
            s = s.replace("\\", "")
        text += s
    return text


def slug(text):
    s = rendered(text).strip().lower()
    s = re.sub(r"[^\w\- ]", "", s)
    return s.replace(" ", "-")


_anchors = {}


def anchors(path):
    """Every anchor of the markdown file at `path`."""
    if path not in _anchors:
        text = blank_fences(path.read_text(encoding="utf-8"))
        seen, found = {}, set()
        for line in text.split("\n"):
            m = HEADING.match(line)
            if m:
                base = slug(m.group(2))
                n = seen.get(base, 0)
                seen[base] = n + 1
                found.add(base if n == 0 else f"{base}-{n}")
        found.update(HTML_ID.findall(text))
        _anchors[path] = found
    return _anchors[path]


def without_code(text):
    """Fenced blocks and code spans blanked, line breaks kept."""
    text = blank_fences(text)
    return CODE_SPAN.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), text)


def check_links(path):
    errors = []
    rel = path.relative_to(ROOT)
    text = without_code(path.read_text(encoding="utf-8"))
    targets = [(m.start(), m.group(1)) for m in INLINE_LINK.finditer(text)]
    targets += [(m.start(), m.group(1)) for m in REF_DEF.finditer(text)]
    for at, target in sorted(targets):
        line = text.count("\n", 0, at) + 1
        target = target.strip("<>")
        if SCHEME.match(target) or target.startswith("//"):
            continue
        file_part, _, anchor = target.partition("#")
        dest = path if not file_part else (path.parent / unquote(file_part)).resolve()
        where = f"{rel}:{line}: link {target!r}"
        if not dest.exists():
            errors.append(f"{where}: {file_part} does not exist")
            continue
        if anchor:
            if dest.is_dir() or dest.suffix.lower() != ".md":
                errors.append(f"{where}: an anchor into {file_part}, which is not a markdown file")
            elif anchor not in anchors(dest):
                errors.append(f"{where}: no heading of {dest.relative_to(ROOT)} has the anchor #{anchor}")
    return errors


BUILT = []


def binary(name):
    """target/release/NAME, brought up to date first (once)."""
    if not BUILT:
        build = ["cargo", "build", "--release", "-q", "-p", "trees-cli", "--bins"]
        if subprocess.run(build, cwd=ROOT).returncode:
            sys.exit(f"check-docs: {' '.join(build)} failed: cannot list the subcommands")
        BUILT.append(True)
    return ROOT / "target" / "release" / name


def subcommands(name):
    """The subcommands `NAME --help` lists (help excepted)."""
    run = subprocess.run([str(binary(name)), "--help"], capture_output=True, text=True)
    if run.returncode:
        sys.exit(f"check-docs: `{name} --help` failed (exit {run.returncode}): {run.stderr.strip()}")
    out = run.stdout
    found, listing = [], False
    for line in out.splitlines():
        if line.strip() == "Commands:":
            listing = True
        elif listing and not line.strip():
            break
        elif listing:
            m = re.match(r"^ {2}([a-z][a-z0-9-]*)(\s|$)", line)  # not a wrapped description
            if m and m.group(1) != "help":
                found.append(m.group(1))
    if not found:
        raise SystemExit(f"check-docs: `{name} --help` lists no subcommands; has its format changed?")
    return found


def check_subcommands():
    errors = []
    text = blank_fences(GUIDE.read_text(encoding="utf-8"))
    named = [m.group(2) for line in text.split("\n") if (m := HEADING.match(line))]
    named += [m.group(2) for m in CODE_SPAN.finditer(text)]
    named = [re.sub(r"\s+", " ", s) for s in named]
    for b in BINARIES:
        for sub in subcommands(b):
            pattern = re.compile(rf"(?<![\w-]){b} {re.escape(sub)}(?![\w-])")
            if not any(pattern.search(s) for s in named):
                errors.append(
                    f"{GUIDE.relative_to(ROOT)}: `{b} {sub}` (listed by `{b} --help`) is not documented:"
                    f" no heading or code span of the guide names it"
                )
    return errors


def main():
    files = [ROOT / "README.md"] + sorted((ROOT / "docs").glob("*.md"))
    errors = []
    for f in files:
        if not f.exists():
            errors.append(f"{f.relative_to(ROOT)}: missing")
            continue
        errors += check_links(f)
    if GUIDE.exists():
        errors += check_subcommands()
    for e in errors:
        print(e, file=sys.stderr)
    if errors:
        print(f"check-docs: {len(errors)} problem(s) in README.md and docs/", file=sys.stderr)
        sys.exit(1)
    print(f"check-docs: {len(files)} files, every link and anchor resolves, every subcommand is in docs/guide.md")


if __name__ == "__main__":
    os.chdir(ROOT)
    main()
