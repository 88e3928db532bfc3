#!/usr/bin/env python3
"""A series of CI-like job results, each a directory to zip as a `.wwz`.

usage: wwz.py OUT JOBS MEMBERS [SEED]

Writes OUT/job-NNN/ for NNN in 0..JOBS, each with about MEMBERS files: an
index.html listing them, a log per task (lines of a build and test run,
timestamps and durations that change from job to job, a few tests that
flip between pass and fail), a spec page per test suite (an HTML table
of cases) and a benchmark page per benchmark (numbers that drift).
Consecutive jobs differ a little, as consecutive CI runs of one repository
do: a commit changes a few files' output, every job's times differ.
Deterministic for a seed.
"""

import os
import random
import sys


def words(rng, n):
    vocab = ("build compile link test check lint format spec case pass fail "
             "ok error warning note osh ysh bash dash zsh mksh parse eval "
             "word token lexer arena frontend core builtin pipeline redirect "
             "here-doc glob brace tilde arith assign func proc module").split()
    return " ".join(rng.choice(vocab) for _ in range(n))


def task_log(text, rng, job, task, lines):
    """A task's log: its steps' words are the task's own (`text`), the
    same every job; timestamps, durations and a rare failure are the
    job's (`rng`)."""
    out = []
    t = 1_700_000_000 + job * 3600
    for i in range(lines):
        t += rng.randint(0, 3)
        status = "ok" if rng.random() > 0.02 else "FAIL"
        out.append(f"[{t}] {task} step {i:04d}: {words(text, 8)} ... {status} "
                   f"({rng.randint(1, 999)} ms)")
    return "\n".join(out) + "\n"


def spec_page(rng, suite, cases, flips):
    rows = []
    for c in range(cases):
        ok = "pass" if (c * 7 + suite) % 31 != flips else "FAIL"
        rows.append(f"<tr><td>{suite}-{c}</td><td>{words(random.Random(suite * 1000 + c), 5)}</td>"
                    f"<td class={ok}>{ok}</td></tr>")
    return ("<!DOCTYPE html>\n<html><head><title>spec %d</title>"
            "<link rel=stylesheet href=../base.css></head><body>\n<table>\n%s\n</table>\n"
            "</body></html>\n" % (suite, "\n".join(rows)))


def bench_page(rng, b):
    rows = "\n".join(f"<tr><td>case {i}</td><td>{1000 + (b * 37 + i * 11) % 500 + rng.randint(-20, 20)}</td></tr>"
                     for i in range(40))
    return f"<html><body><h1>benchmark {b}</h1><table>\n{rows}\n</table></body></html>\n"


def main():
    out, jobs, members = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    seed = int(sys.argv[4]) if len(sys.argv) > 4 else 1
    logs = members * 6 // 10
    specs = members * 3 // 10
    benches = members - logs - specs - 2
    for job in range(jobs):
        rng = random.Random(seed * 100_003 + job)
        d = os.path.join(out, f"job-{job:03d}")
        names = []

        def put(rel, text):
            p = os.path.join(d, rel)
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, "w") as f:
                f.write(text)
            names.append(rel)

        put("base.css", "body { font-family: sans-serif }\n.FAIL { color: red }\n")
        for t in range(logs):
            text = random.Random(seed * 7 + t * 13)
            put(f"_tmp/soil/logs/task-{t:04d}.txt", task_log(text, rng, job, f"task-{t}", 30 + t % 20))
        for s in range(specs):
            put(f"_tmp/spec/suite-{s:04d}.html", spec_page(rng, s, 25 + s % 15, job % 31))
        for b in range(benches):
            put(f"_tmp/bench/b-{b:04d}.html", bench_page(rng, b))
        index = "\n".join(f'<li><a href="{n}">{n}</a></li>' for n in sorted(names))
        put("index.html", f"<html><body><h1>job {job}</h1><ul>\n{index}\n</ul></body></html>\n")


if __name__ == "__main__":
    main()
