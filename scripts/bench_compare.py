#!/usr/bin/env python3
"""Compares two runs of ./scripts/bench.sh: every ratio of both (their ratios.json, written by
bench_table.py) and how far apart they are (the difference over the larger; the issue asks for
two runs within 15%). Prints a Markdown table; a ratio more than 15% apart is in bold.

Usage: bench_compare.py RESULTS_DIR_1 RESULTS_DIR_2
"""
import json
import os
import sys


def load(directory):
    with open(os.path.join(directory, "ratios.json")) as f:
        return json.load(f)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    first, second = load(sys.argv[1]), load(sys.argv[2])
    print("| ratio | run 1 | run 2 | apart |")
    print("|---|---|---|---|")
    for name in first:
        if name not in second or first[name] is None or second[name] is None:
            continue
        a, b = float(first[name]), float(second[name])
        apart = abs(a - b) / max(abs(a), abs(b)) if max(abs(a), abs(b)) > 0 else 0.0
        text = "%.0f%%" % (100 * apart)
        print("| %s | %.3g | %.3g | %s |" % (name, a, b, "**%s**" % text if apart > 0.15 else text))


if __name__ == "__main__":
    main()
