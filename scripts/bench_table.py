#!/usr/bin/env python3
"""Turns one run of bench/isolate_bench (Google Benchmark JSON, medians over repetitions) and
one run of the anchors (raw.jsonl) into the comparison table of the README.

Usage: bench_table.py isolate_bench.json anchors/results/raw.jsonl
"""
import json
import statistics
import sys


def load_ours(path):
    data = json.load(open(path))
    out = {}
    for b in data["benchmarks"]:
        if b.get("aggregate_name") not in (None, "median"):
            continue
        name = b.get("run_name", b["name"]).split("/min_time")[0].split("/iterations")[0]
        name = name.replace("/manual_time", "").replace("/repeats:3", "")
        out[name] = b
    return out


def load_anchors(path):
    metrics = {}
    try:
        for line in open(path):
            line = line.strip()
            if line.startswith("{") and '"metric"' in line:
                rec = json.loads(line)
                metrics.setdefault(rec["metric"], []).append(rec["median"])
    except FileNotFoundError:
        pass
    return {k: statistics.median(v) for k, v in metrics.items()}


def us(b):
    """A benchmark's time per iteration in microseconds: the median of its samples where it
    reports one (median_us), else its real time."""
    if "median_us" in b:
        return b["median_us"]
    scale = {"ns": 1e-3, "us": 1.0, "ms": 1e3, "s": 1e6}[b["time_unit"]]
    return b["real_time"] * scale


def fmt(x, unit):
    if x is None:
        return "n/a"
    if unit == "us" and x >= 1000:
        return "%.2f ms" % (x / 1000)
    if unit in ("tasks/s",):
        return "%.0f/s" % x
    if unit == "GB/s":
        return "%.2f GB/s" % x
    if unit == "MB/s":
        return "%.0f MB/s" % x
    return "%.3g %s" % (x, unit)


def main():
    ours = load_ours(sys.argv[1])
    anchors = load_anchors(sys.argv[2])

    def a(metric, scale=1.0):
        v = anchors.get(metric)
        return None if v is None else v * scale

    def o(name):
        return ours.get(name)

    rows, verdicts = [], []

    def row(metric, mine, unit, rival, rival_name, limit, limit_name, lower_is_better=True):
        def ratio(x):
            if mine is None or x is None or x == 0:
                return "n/a"
            return "%.2f×" % (mine / x)
        rows.append("| %s | %s | %s (%s) | %s (%s) | %s | %s |" % (
            metric, fmt(mine, unit), fmt(rival, unit), rival_name, fmt(limit, unit), limit_name,
            ratio(rival), ratio(limit)))

    def target(text, ok):
        verdicts.append("- %s %s" % ("MET   " if ok else "MISSED", text))

    cold = us(o("BM_ColdRun")) if o("BM_ColdRun") else None
    raw = us(o("BM_RawSpawnExecReap")) if o("BM_RawSpawnExecReap") else None
    row("cold run of a trivial job", cold, "us", a("multiprocessing.Process start+join (spawn)", 1000),
        "Python spawn process", raw, "posix_spawn+exec+reap, same binary")
    if cold and raw:
        target("cold run ≤ 1.3× raw spawn+exec+reap of the same binary: %.2f×" % (cold / raw), cold <= 1.3 * raw)

    rt = us(o("BM_PoolRoundTrip")) if o("BM_PoolRoundTrip") else None
    piscina_rt = a("piscina warm round trip await run(noop) (2 threads)")
    pebble_rt = a("pebble warm round trip schedule+result (2 workers)")
    row("pool round trip (sequential)", rt, "us", piscina_rt, "piscina", a("spin~20us then futex (shm word) RTT [pin=none]"),
        "shm ping-pong, spin then futex")
    row("", rt, "us", pebble_rt, "pebble", a("futex (shm word) RTT [pin=none]"), "shm ping-pong, futex only")
    if rt and piscina_rt:
        target("pool round trip ≤ 0.5× piscina's: %.2f×" % (rt / piscina_rt), rt <= 0.5 * piscina_rt)
    if rt and pebble_rt:
        target("pool round trip ≤ 0.1× pebble's: %.2f×" % (rt / pebble_rt), rt <= 0.1 * pebble_rt)

    beside = o("BM_PoolRoundTripBesideLargeResponses")
    if beside:
        # Another caller keeps 64 MiB echoes going through the other worker; the limit column is
        # the round trip alone. A large response read on the dispatcher thread would put its
        # whole read (milliseconds) into the p99.
        row("pool round trip beside 64 MiB echoes (median)", beside.get("median_us"), "us", None, "—", rt,
            "round trip alone")
        row("pool round trip beside 64 MiB echoes (p99)", beside.get("p99_us"), "us", None, "—", rt,
            "round trip alone")

    tp = o("BM_PoolThroughput/20000")
    tps = tp.get("items_per_second") if tp else None
    row("pool throughput (20k in flight)", tps, "tasks/s", a("piscina throughput, 50k runs in flight (2 threads)"),
        "piscina", None, "", lower_is_better=False)

    kill = us(o("BM_RawKillReap")) if o("BM_RawKillReap") else None
    piscina_abort = a("piscina abort() -> run() promise rejected")
    for name, label in (("BM_CancelToReadyIsolate", "cancel → future ready (run)"),
                        ("BM_CancelToReadyPool", "cancel → future ready (pool)")):
        v = us(o(name)) if o(name) else None
        row(label, v, "us", piscina_abort, "piscina abort", kill, "SIGKILL→reaped, same run")
        if v and kill:
            target("%s ≤ 2× raw kill→reap: %.2f×" % (label, v / kill), v <= 2 * kill)
        if v and piscina_abort:
            why = ""
            if kill and kill * 10 > piscina_abort:
                why = (" — below the physical limit: the future is ready only once the worker is reaped, and a"
                       " raw SIGKILL→reap of this binary alone took %.0f µs > piscina abort / 10 = %.0f µs"
                       % (kill, piscina_abort / 10))
            target("%s ≥ 10× faster than piscina abort: %.1f×%s" % (label, piscina_abort / v, why), v * 10 <= piscina_abort)
    v = us(o("BM_CancelToReadyPool")) if o("BM_CancelToReadyPool") else None
    row("cancel → worker reaped (pool; reaped before ready)", v, "us",
        a("pebble cancel() -> worker process exited (pidfd)", 1000), "pebble", kill, "SIGKILL→reaped")

    def gbps(b):
        return b["bytes_per_second"] / 1e9 if b else None

    for size in (64, 256):
        mb = gbps(o("BM_Memcpy/%d" % size))
        fresh = gbps(o("BM_FreshBufferCopy/%d" % size))
        rival = a("PPE 64MiB bytes echo (payload MiB / RTT)", 1.048576e-3) if size == 64 else None
        best = None
        for name, label in (("BM_PoolEcho", "vector in, vector out"), ("BM_PoolEchoView", "span in, new vector out"),
                            ("BM_PoolEchoInPlace", "vector handed over, span of the input out: in place")):
            eb = gbps(o("%s/%d" % (name, size)))
            best = eb if best is None or (eb and eb > best) else best
            row("%d MiB echo through the pool (%s)" % (size, label), eb, "GB/s", rival,
                "ProcessPoolExecutor" if rival else "—", mb, "memcpy, same run", lower_is_better=False)
        if size == 256 and best and mb:
            why = ""
            if fresh and best < 0.4 * mb:
                # Any echo writes the payload into the channel once and must fill a fresh buffer
                # for the caller: at best one memcpy plus one fresh-buffer copy per round trip.
                ceiling = 1 / (1 / mb + 1 / fresh)
                why = (" — an echo returning a new buffer is bounded by memcpy into the channel + a copy into"
                       " fresh memory (%.2f GB/s here) = %.2f GB/s = %.0f%% of memcpy"
                       % (fresh, ceiling, 100 * ceiling / mb))
            target("256 MiB echo ≥ 40%% of memcpy bandwidth: %.0f%%%s" % (100 * best / mb, why), best >= 0.4 * mb)

    inp = o("BM_JsonParseInProcess")
    inv = us(inp) if inp else None
    best = None
    for name, label in (("BM_JsonParseOffloaded", "std::string input"), ("BM_JsonParseOffloadedView", "std::string_view input, parsed in place")):
        off = o(name)
        offv = us(off) if off else None
        if offv and (best is None or offv < best):
            best = offv
        row("100 MB JSON parse, offloaded to the pool (%s)" % label, offv, "us", None, "—", inv, "same parse in-process")
    if best and inv:
        target("offloaded parse ≤ 1.15× in-process: %.2f×" % (best / inv), best <= 1.15 * inv)

    rss = o("BM_Rss")
    print("| metric | ours | best rival | physical limit | ours/rival | ours/limit |")
    print("|---|---|---|---|---|---|")
    print("\n".join(rows))
    if rss:
        print("| parent RSS / per-worker RSS | %.1f MiB / %.1f MiB | | | | |" % (rss.get("parent_rss_MiB", 0), rss.get("worker_rss_MiB", 0)))
    print()
    print("Targets:")
    print("\n".join(verdicts))


if __name__ == "__main__":
    main()
