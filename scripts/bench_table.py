#!/usr/bin/env python3
"""Turns one run of ./scripts/bench.sh (its results directory) into the README's table.

The directory holds isolate_bench_<round>.json (Google Benchmark JSON: the interleaved
comparisons report per-way medians "<way>_us" and ratios "<way>_x"), anchors.jsonl (the rivals'
JSON lines, tagged with the round) and tool.jsonl (isolate-run json-stats). Every figure is the
median over the rounds; every ratio against a baseline of isolate_bench was measured interleaved
with it. Also writes ratios.json (every ratio by name), so that two runs can be compared.

Usage: bench_table.py RESULTS_DIR
"""
import glob
import json
import os
import statistics
import sys


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def load_ours(directory):
    """{benchmark name: {field: [value per round]}}"""
    out = {}
    for path in sorted(glob.glob(os.path.join(directory, "*_bench_*.json"))):
        for b in json.load(open(path))["benchmarks"]:
            name = b.get("run_name", b["name"]).split("/iterations")[0].split("/min_time")[0]
            name = name.replace("/manual_time", "").replace("/real_time", "")
            fields = out.setdefault(name, {})
            for key, value in b.items():
                if isinstance(value, (int, float)):
                    fields.setdefault(key, []).append(value)
    return out


def load_lines(path):
    records = []
    try:
        for line in open(path):
            line = line.strip()
            if line.startswith("{") and '"metric"' in line:
                records.append(json.loads(line))
    except FileNotFoundError:
        pass
    return records


def main():
    directory = sys.argv[1]
    ours = load_ours(directory)
    anchors = {}
    for rec in load_lines(os.path.join(directory, "anchors.jsonl")):
        anchors.setdefault(rec["metric"], []).append(rec["median"])
    tool = load_lines(os.path.join(directory, "tool.jsonl"))

    def o(bench, field):
        return median(ours.get(bench, {}).get(field, []))

    def a(metric, scale=1.0):
        v = median(anchors.get(metric, []))
        return None if v is None else v * scale

    rows, verdicts, ratios = [], [], {}

    def fmt(x, unit):
        if x is None:
            return "n/a"
        if unit == "us":
            return "%.2f ms" % (x / 1000) if x >= 1000 else "%.3g µs" % x
        if unit == "s":
            return "%.2f s" % x
        if unit == "tasks/s":
            return "%.0f/s" % x
        if unit == "GB/s":
            return "%.2f GB/s" % x
        if unit == "MB/s":
            return "%.0f MB/s" % x
        return "%.3g %s" % (x, unit)

    def ratio_text(r):
        return "n/a" if r is None else "%.2f×" % r

    def row(metric, mine, unit, baseline=None, baseline_name="", ratio=None, rival=None, rival_name=""):
        if ratio is None and mine is not None and baseline:
            ratio = mine / baseline
        rival_ratio = mine / rival if mine is not None and rival else None
        rows.append("| %s | %s | %s (%s) | %s | %s (%s) | %s |" % (
            metric, fmt(mine, unit), fmt(baseline, unit), baseline_name or "—", ratio_text(ratio),
            fmt(rival, unit), rival_name or "—", ratio_text(rival_ratio)))
        return ratio, rival_ratio

    def target(name, text, value, ok):
        ratios[name] = value
        verdicts.append("- %s %s" % ("MET   " if ok else "MISSED", text))

    # Start and round trip.
    r, _ = row("cold run of a trivial job", o("BM_ColdRun", "run_us"), "us", o("BM_ColdRun", "raw_spawn_us"),
               "posix_spawn+exec+reap, same binary", o("BM_ColdRun", "run_x"),
               a("multiprocessing.Process start+join (spawn)", 1000), "Python spawn process")
    if r:
        target("cold_run_x", "cold run ≤ 1.3× raw spawn+exec+reap: %.2f×" % r, r, r <= 1.3)

    rt = o("BM_PoolRoundTrip", "real_time")
    piscina_rt = a("piscina warm round trip await run(noop) (2 threads)")
    pebble_rt = a("pebble warm round trip schedule+result (2 workers)")
    _, vs_piscina = row("pool round trip (sequential)", rt, "us", a("futex (shm word) RTT [pin=none]"),
                        "shm futex ping-pong", None, piscina_rt, "piscina")
    _, vs_pebble = row("", rt, "us", None, "", None, pebble_rt, "pebble")
    if vs_piscina:
        target("round_trip_vs_piscina", "pool round trip ≤ 0.5× piscina's: %.2f×" % vs_piscina, vs_piscina,
               vs_piscina <= 0.5)
    if vs_pebble:
        target("round_trip_vs_pebble", "pool round trip ≤ 0.1× pebble's: %.2f×" % vs_pebble, vs_pebble,
               vs_pebble <= 0.1)
    beside = "BM_PoolRoundTripBesideLargeResponses"
    row("pool round trip beside 64 MiB echoes (median)", o(beside, "median_us"), "us", rt, "round trip alone")
    row("pool round trip beside 64 MiB echoes (p99)", o(beside, "p99_us"), "us", rt, "round trip alone")
    row("pool throughput (20k in flight)", o("BM_PoolThroughput/20000", "items_per_second"), "tasks/s", None, "",
        None, a("piscina throughput, 50k runs in flight (2 threads)"), "piscina")

    # Cancel.
    kill = o("BM_CancelToReady", "raw_kill_us")
    for way, label in (("run", "cancel → future ready, worker reaped (run)"),
                       ("pool", "cancel → future ready, worker reaped (pool)")):
        r, _ = row(label, o("BM_CancelToReady", way + "_us"), "us", kill, "SIGKILL→reaped, same binary",
                   o("BM_CancelToReady", way + "_x"), a("piscina abort() -> run() promise rejected"), "piscina abort")
        if r:
            target("cancel_%s_x" % way, "%s ≤ 2× raw SIGKILL→reaped: %.2f×" % (label, r), r, r <= 2)
    row("", o("BM_CancelToReady", "pool_us"), "us", None, "", None,
        a("pebble cancel() -> worker process exited (pidfd)", 1000), "pebble worker exited")

    # Asynchronous use and progress.
    aio = "BM_AsyncPoolRoundTrip"
    r, _ = row("pool round trip awaited in a coroutine (async_run, use_awaitable)", o(aio, "async_awaitable_us"), "us",
               o(aio, "pool_get_us"), "pool.run().get(), interleaved", o(aio, "async_awaitable_x"))
    if r:
        target("async_round_trip_x", "async_run + use_awaitable round trip ≤ 1.1× pool.run().get(): %.2f×" % r, r,
               r <= 1.1)
    prog = "BM_ProgressReports"
    reports = o(prog, "reports_per_job") or 0
    r, _ = row("16 MB SAX parse on a pool worker reporting progress at each value (%.2g reports)" % reports,
               o(prog, "reporting_us"), "us", o(prog, "silent_us"), "the same parse reporting nothing",
               o(prog, "reporting_x"))
    if r:
        target("progress_x", "a job reporting %.2g times ≤ 1.05× one that does not: %.3f×" % (reports, r), r,
               r <= 1.05)
    many = "BM_TenThousandConcurrent"
    r, _ = row("10,000 concurrent async_run on one io_context thread (peak %.0f process threads)"
               % (o(many, "async_peak_threads") or 0), o(many, "async_one_thread_us"), "us",
               o(many, "futures_us"), "10,000 pool futures, get() in turn (peak %.0f threads)"
               % (o(many, "futures_peak_threads") or 0), o(many, "async_one_thread_x"))
    if r:
        peak = o(many, "async_peak_threads") or 0
        target("ten_thousand_async", "10,000 concurrent async_run complete on one caller thread, no thread per job"
               " (peak %.0f threads in the process)" % peak, peak, peak <= 16)

    # Bulk data: GB/s from each way's median time.
    for size in (64, 256):
        bench = "BM_Echo/%d" % size
        n = o(bench, "bytes")

        def gbps(way):
            us = o(bench, way + "_us")
            return n / (us * 1e-6) / 1e9 if n and us else None

        memcpy = gbps("memcpy")
        rival = a("PPE 64MiB bytes echo (payload MiB / RTT)", 1.048576e-3) if size == 64 else None
        for way, label in (("vector", "vector in, vector out"), ("view", "span in, new vector out"),
                           ("in_place", "vector handed over, span of the input out")):
            row("%d MiB echo through the pool (%s)" % (size, label), gbps(way), "GB/s", memcpy, "memcpy",
                None, rival, "ProcessPoolExecutor" if rival else "")
        if size == 256 and memcpy:
            best = max(g for g in (gbps("vector"), gbps("view"), gbps("in_place")) if g)
            fresh = gbps("fresh_copy")
            ceiling = 1 / (1 / memcpy + 1 / fresh) if fresh else None
            why = "" if not ceiling else (" (an echo that returns a new buffer is bounded by memcpy + a copy into fresh"
                                          " memory: %.0f%% of memcpy here)" % (100 * ceiling / memcpy))
            target("echo_256_of_memcpy", "256 MiB echo ≥ 40%% of memcpy: %.0f%%%s" % (100 * best / memcpy, why),
                   best / memcpy, best >= 0.4 * memcpy)

    # The main job.
    parse = "BM_JsonParse"
    base = o(parse, "in_process_us")
    faults = lambda way: o(parse, way + "_faults")
    row("100 MB JSON parse in-process, warm heap (%.0f faults)" % (faults("in_process") or 0), base, "us", base,
        "itself", 1.0)
    for way, label, bound in (("pool_view", "pool worker, string_view input parsed in place", 1.1),
                              ("pool_string", "pool worker, std::string input", 1.15),
                              ("one_shot", "one-shot run, fresh worker", 1.25)):
        r, _ = row("100 MB JSON parse: %s (%.0f faults)" % (label, faults(way) or 0), o(parse, way + "_us"), "us",
                   base, "in-process, interleaved", o(parse, way + "_x"))
        if r:
            target(way + "_x", "%s ≤ %.2f× in-process: %.2f×" % (label, bound, r), r, r <= bound)
    # Where a one-shot run's time goes: the job's own parse, timed inside the fresh worker (its
    # cold heap), and the rest (spawn, input, result, reap): isolate's part.
    inner, total = o(parse, "one_shot_parse_us"), o(parse, "one_shot_us")
    if inner and total:
        row("100 MB JSON parse: one-shot, the parse alone as timed inside the fresh worker (cold heap)", inner, "us",
            base, "in-process, interleaved")
        row("100 MB JSON parse: one-shot, the rest (spawn, input, result, reap)", total - inner, "us", total,
            "the whole one-shot run")

    # The tool, beside Node's JSON.parse of the same file.
    stats = [t for t in tool if t["metric"] == "json-stats"]
    if stats:
        mbps = median([t["bytes"] / t["parse_seconds"] / 1e6 for t in stats])
        wall_x = median([t["command_seconds"] / t["parse_seconds"] for t in stats])
        node = a("node JSON.parse(string)")
        row("isolate-run json-stats, 200 MB: parse throughput", mbps, "MB/s", None, "", None, node,
            "Node JSON.parse, same file")
        row("isolate-run json-stats, 200 MB: whole command", median([t["command_seconds"] for t in stats]), "s",
            median([t["parse_seconds"] for t in stats]), "the parse time it prints", wall_x)
        target("tool_wall_x", "json-stats wall time ≤ 1.1× its parse time: %.2f×" % wall_x, wall_x, wall_x <= 1.1)
        target("tool_mbps", "json-stats parse ≥ 300 MB/s: %.0f MB/s" % mbps, mbps, mbps >= 300)
    timeouts = [t["command_seconds"] for t in tool if t["metric"] == "json-stats --timeout 300ms"]
    if timeouts:
        t = median(timeouts)
        row("isolate-run json-stats --timeout 300ms: exit after", t, "s")
        target("tool_timeout_s", "--timeout 300ms exits within 1.2 s of the start: %.2f s (worst %.2f s)"
               % (t, max(timeouts)), t, max(timeouts) <= 1.2)

    print("| metric | ours | baseline (same run) | ours/baseline | rival (same run) | ours/rival |")
    print("|---|---|---|---|---|---|")
    print("\n".join(rows))
    rss = ours.get("BM_Rss")
    if rss:
        print("| parent RSS / per-worker RSS | %.1f MiB / %.1f MiB | | | | |"
              % (median(rss.get("parent_rss_MiB", [])), median(rss.get("worker_rss_MiB", []))))
    print()
    print("Targets:")
    print("\n".join(verdicts))
    json.dump(ratios, open(os.path.join(directory, "ratios.json"), "w"), indent=1)


if __name__ == "__main__":
    main()
