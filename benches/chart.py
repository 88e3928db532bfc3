#!/usr/bin/env python3
"""Turns the Markdown table of benches/compare.sh into an SVG bar chart.

usage: benches/chart.py TABLE.md OUT.svg

For each set (family, or all mixed) it draws two groups of bars: pack size
and wall time, each as a ratio to git's aggressive pack (1.0 = git). Only
the tools that have both figures (git, silo) are drawn; xz and gzip sizes
are in the table. No dependencies beyond Python's standard library.
"""
import sys
from xml.sax.saxutils import escape

rows = []
for line in open(sys.argv[1], encoding="utf-8"):
    cells = [c.strip() for c in line.strip().strip("|").split("|")]
    if len(cells) != 8 or cells[0] in ("set", "---") or cells[0].startswith("-"):
        continue
    rows.append(cells)

tools = ["git pack-objects window 10 (gc)", "git pack-objects window 250 (aggressive)", "**silo repack**"]
labels = {tools[0]: "git gc (window 10)", tools[1]: "git aggressive (window 250)", tools[2]: "silo repack"}
colors = {tools[0]: "#9ecae1", tools[1]: "#3182bd", tools[2]: "#e6550d"}
sets = []
for r in rows:
    if r[0] not in sets and r[0] in {x[0] for x in rows if x[1] in tools}:
        sets.append(r[0])

def value(s, tool, col):
    for r in rows:
        if r[0] == s and r[1] == tool and r[col] not in ("-", ""):
            return float(r[col])
    return None

bar, gap, group_gap, top, left, height = 14, 4, 26, 40, 60, 220
width = left + len(sets) * 2 * (3 * (bar + gap) + group_gap) + 40
out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{top + height + 90}" font-family="sans-serif" font-size="11">']
out.append(f'<text x="{left}" y="20" font-size="13">Pack size and wall time, as a ratio to git aggressive (lower is better)</text>')
scale = height / 1.2
for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
    y = top + height - tick * scale
    out.append(f'<line x1="{left - 4}" x2="{width - 20}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>')
    out.append(f'<text x="{left - 8}" y="{y + 4:.1f}" text-anchor="end">{tick:.2f}</text>')
x = left + 10
for s in sets:
    for col, what in ((4, "size"), (6, "time")):
        x0 = x
        for t in tools:
            v = value(s, t, col)
            if v is None:
                continue
            h = v * scale
            out.append(f'<rect x="{x}" y="{top + height - h:.1f}" width="{bar}" height="{h:.1f}" fill="{colors[t]}"><title>{escape(labels[t])}: {v}</title></rect>')
            x += bar + gap
        out.append(f'<text x="{(x0 + x) / 2:.1f}" y="{top + height + 14}" text-anchor="middle">{what}</text>')
        x += group_gap // 2
    out.append(f'<text x="{x - (3 * (bar + gap) + group_gap) :.1f}" y="{top + height + 30}" text-anchor="middle" font-weight="bold">{escape(s)}</text>')
    x += group_gap
for i, t in enumerate(tools):
    out.append(f'<rect x="{left + i * 200}" y="{top + height + 50}" width="12" height="12" fill="{colors[t]}"/>')
    out.append(f'<text x="{left + i * 200 + 16}" y="{top + height + 60}">{escape(labels[t])}</text>')
out.append("</svg>")
open(sys.argv[2], "w", encoding="utf-8").write("\n".join(out) + "\n")
