#!/usr/bin/env python3
"""Compares two runs of a results file (benches/results/*.md) row by row.

    benches/compare-runs.py OLD.md NEW.md [PATTERN]

Rows of the Markdown tables are matched by their text cells (the set, the
tool, the step); for each number cell of a matched row it prints new/old.
PATTERN (a substring, default "silo") picks the rows to show. The verdict
line counts the byte cells that grew by more than 1% and the time cells
that grew by more than 25% (this 2-core machine's noise between runs of
the same code is about 10-20% on sub-second steps).
"""

import re
import sys


def tables(path):
    rows = {}
    header = None
    for line in open(path, encoding="utf-8"):
        line = line.rstrip("\n")
        if not line.startswith("|"):
            header = None
            continue
        cells = [c.strip() for c in line.strip("|").split("|")]
        if all(re.fullmatch(r":?-+:?", c) for c in cells):
            continue
        if header is None:
            header = cells
            continue
        num = lambda c: re.fullmatch(r"[0-9][0-9,]*(\.[0-9]+)?", c.replace("*", ""))
        key = tuple(c for c in cells if not num(c))
        values = {
            header[i] if i < len(header) else str(i): float(c.replace(",", "").replace("*", ""))
            for i, c in enumerate(cells)
            if num(c)
        }
        rows[(tuple(header), key)] = values
    return rows


def main():
    old, new = tables(sys.argv[1]), tables(sys.argv[2])
    pattern = sys.argv[3] if len(sys.argv) > 3 else "silo"
    worse_bytes = worse_time = compared = 0
    for k, nv in new.items():
        if k not in old or not any(pattern in c for c in k[1]):
            continue
        ov = old[k]
        parts = []
        for col, n in nv.items():
            o = ov.get(col)
            if o is None or o == 0:
                continue
            r = n / o
            parts.append(f"{col} {r:.3f}")
            low = col.lower()
            if "byte" in low and r > 1.01:
                worse_bytes += 1
            if ("second" in low or low.endswith(" s")) and r > 1.25:
                worse_time += 1
            compared += 1
        print(" / ".join(k[1]) + ": " + ", ".join(parts))
    print(
        f"{compared} cells compared; byte cells over +1%: {worse_bytes}; time cells over +25%: {worse_time}"
    )


if __name__ == "__main__":
    main()
