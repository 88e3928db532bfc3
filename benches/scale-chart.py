#!/usr/bin/env python3
"""Turns the blob-count table of benches/scale.sh into an SVG line chart.

usage: benches/scale-chart.py TABLE.md OUT.svg

Two charts side by side: wall time (s) and peak RSS (MB) against the number
of blobs (log scale), one line for silo repack and one for git pack-objects.
No dependencies beyond Python's standard library.
"""
import math
import sys
from xml.sax.saxutils import escape

# The table whose header starts with "blobs":
# blobs | raw MB | silo pack bytes | silo s | silo RSS MB | git pack bytes | git s | git RSS MB | ...
rows, in_table = [], False
for line in open(sys.argv[1], encoding="utf-8"):
    line = line.strip()
    if not line.startswith("|"):
        in_table = False
        continue
    cells = [c.strip() for c in line.strip("|").split("|")]
    if cells[0] == "blobs":
        in_table = True
        continue
    if in_table and len(cells) >= 8 and cells[0].isdigit():
        rows.append([float(c) for c in cells[:8]])
if not rows:
    sys.exit(f"{sys.argv[1]}: no blob-count table")
rows.sort()

series = [("silo repack", "#e6550d", 3, 4), ("git pack-objects --window=250", "#3182bd", 6, 7)]
panels = [("wall time (s)", 0), ("peak RSS (MB)", 1)]
pw, ph, left, top, gap = 300, 200, 60, 52, 90
width = left + 2 * pw + gap + 30
out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{top + ph + 80}" font-family="sans-serif" font-size="11">']
out.append(f'<text x="{left}" y="20" font-size="13">silo repack and git pack-objects against the number of blobs (lower is better)</text>')

xs = [r[0] for r in rows]
lo, hi = math.log(min(xs)), math.log(max(xs))
span = (hi - lo) or 1.0


def nice_max(v):
    """A round axis top above v."""
    if v <= 0:
        return 1.0
    e = 10 ** math.floor(math.log10(v))
    for m in (1, 2, 2.5, 5, 10):
        if m * e >= v:
            return m * e
    return 10 * e


for p, (title, which) in enumerate(panels):
    x0 = left + p * (pw + gap)
    ymax = nice_max(max(r[s[2 + which]] for r in rows for s in series) * 1.05)
    px = lambda n: x0 + (math.log(n) - lo) / span * pw if len(xs) > 1 else x0 + pw / 2
    py = lambda v: top + ph - v / ymax * ph
    out.append(f'<text x="{x0 + pw / 2}" y="{top - 8}" text-anchor="middle" font-weight="bold">{escape(title)}</text>')
    for i in range(5):
        v = ymax * i / 4
        y = py(v)
        out.append(f'<line x1="{x0 - 4}" x2="{x0 + pw}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{x0 - 8}" y="{y + 4:.1f}" text-anchor="end">{v:g}</text>')
    for n in xs:
        out.append(f'<text x="{px(n):.1f}" y="{top + ph + 16}" text-anchor="middle">{n:g}</text>')
    out.append(f'<text x="{x0 + pw / 2}" y="{top + ph + 32}" text-anchor="middle">blobs</text>')
    for name, color, *cols in series:
        col = cols[which]
        pts = " ".join(f"{px(r[0]):.1f},{py(r[col]):.1f}" for r in rows)
        out.append(f'<polyline points="{pts}" fill="none" stroke="{color}" stroke-width="2"/>')
        for r in rows:
            out.append(f'<circle cx="{px(r[0]):.1f}" cy="{py(r[col]):.1f}" r="3" fill="{color}"><title>{escape(name)}, {r[0]:g} blobs: {r[col]:g}</title></circle>')
for i, (name, color, *_) in enumerate(series):
    out.append(f'<rect x="{left + i * 220}" y="{top + ph + 50}" width="12" height="12" fill="{color}"/>')
    out.append(f'<text x="{left + i * 220 + 16}" y="{top + ph + 60}">{escape(name)}</text>')
out.append("</svg>")
open(sys.argv[2], "w", encoding="utf-8").write("\n".join(out) + "\n")
