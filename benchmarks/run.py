"""Benchmark gradcore against PyTorch (and numpy) in one process.

    python benchmarks/run.py [--suite micro,kernels,gemm,training] [--only SUBSTRING]
                             [--repeat N] [--min-time S] [--json FILE] [--libs ...]
    python -m benchmarks ...          (same, from the repository root)
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

if __package__ in (None, ""):
    # Run as a script: put the repo root (not benchmarks/) on sys.path so the package imports
    # work and no module in benchmarks/ can shadow a top-level one.
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

from benchmarks import harness, report  # noqa: E402
from benchmarks.workloads import REGISTRY, SUITES  # noqa: E402


def default_threads() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python benchmarks/run.py",
        description="Benchmark gradcore against PyTorch (and numpy where meaningful), interleaved in "
                    "one process. Prints a table on stdout, progress on stderr.",
        epilog="Ratio columns are <other lib time> / <first lib time>: >1 means the first library "
               "(gradcore by default) is faster. Throughput is GB/s (memory-bound kernels, minimum "
               "traffic) or GFLOP/s (matmul flops) of the first library.",
        )
    p.add_argument("--suite", default=",".join(SUITES),
                   help="comma-separated suites to run (default: all of %(default)s)")
    p.add_argument("--only", metavar="SUBSTRING", default="",
                   help="run only workloads whose 'suite/name' contains SUBSTRING (case-insensitive; "
                        "comma-separated alternatives)")
    p.add_argument("--repeat", type=int, default=5, metavar="N",
                   help="timed rounds per library (best and median are over these); expensive "
                        "workloads get fewer, see --max-time (default: %(default)s)")
    p.add_argument("--min-time", type=float, default=0.1, metavar="S",
                   help="minimum seconds per timed batch; the loop count is calibrated to reach it (default: %(default)s)")
    p.add_argument("--max-time", type=float, default=2.0, metavar="S",
                   help="per workload and library, cap the timed rounds to about S seconds, at least one round (default: %(default)s)")
    p.add_argument("--json", metavar="FILE", help="also write machine info and all results as JSON")
    p.add_argument("--libs", default="gradcore,torch,numpy", metavar="LIST",
                   help="comma-separated libraries, first one is the reference for ratios and "
                        "throughput. An item may be LABEL=MODULE, e.g. 'gradcore=torch,torch' runs "
                        "torch in the gradcore column to sanity-check the harness (ratios ~1). "
                        "Default: %(default)s")
    p.add_argument("--threads", type=int, default=default_threads(), metavar="N",
                   help="intra-op threads for libraries with set_num_threads (torch, gradcore); default: usable cores, %(default)s")
    p.add_argument("--list", action="store_true", help="list the selected workloads and exit")
    args = p.parse_args(argv)
    unknown = set(args.suite.split(",")) - set(SUITES)
    if unknown:
        p.error(f"unknown suite(s): {', '.join(sorted(unknown))}; choose from {', '.join(SUITES)}")
    if args.repeat < 1 or args.min_time <= 0 or args.max_time <= 0 or args.threads < 1:
        p.error("--repeat and --threads must be >= 1, --min-time and --max-time > 0")
    return args


def select(args: argparse.Namespace) -> list:
    suites = args.suite.split(",")
    pats = [s.lower() for s in args.only.split(",") if s]
    return [wl for wl in REGISTRY
            if wl.suite in suites and (not pats or any(s in wl.id.lower() for s in pats))]


class Progress:
    """One status line on stderr, rewritten in place on a terminal; plain lines otherwise
    (one per workload, so logs stay readable)."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.width = 0

    def __call__(self, msg: str, new_workload: bool = False) -> None:
        if self.tty:
            sys.stderr.write("\r" + msg.ljust(self.width))
            self.width = len(msg)
            sys.stderr.flush()
        elif new_workload:
            print(msg, file=sys.stderr, flush=True)

    def done(self) -> None:
        if self.tty:
            sys.stderr.write("\r" + " " * self.width + "\r")
            sys.stderr.flush()


def main(argv=None) -> int:
    args = parse_args(argv)
    workloads = select(args)
    if args.list:
        for wl in workloads:
            extra = " (+numpy)" if wl.numpy else ""
            print(f"{wl.id}{extra}")
        return 0
    if not workloads:
        print("no workload matches --suite/--only", file=sys.stderr)
        return 2

    libs = harness.load_libs(args.libs, args.threads)
    if not libs:
        print("--libs is empty", file=sys.stderr)
        return 2
    for lib in libs:
        if lib.module is None:
            print(f"note: {lib.header} is not importable ({lib.error}); its column shows "
                  f"{report.DASH}, the other libraries still run.", file=sys.stderr)
    if all(lib.module is None for lib in libs):
        print("no library could be imported", file=sys.stderr)
        return 2

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    if load > 0.5:
        print(f"note: load average is {load:.1f}; other processes share the cores, expect noise.",
              file=sys.stderr)

    progress = Progress()
    results, rc = {}, 0
    try:
        for i, wl in enumerate(workloads, 1):
            head = f"[{i}/{len(workloads)}] {wl.id}"
            progress(head, new_workload=True)
            results[wl.id] = harness.measure(wl, libs, args.repeat, args.min_time, args.max_time,
                                             lambda msg: progress(f"{head}  {msg}"))
    except KeyboardInterrupt:  # still report what finished
        workloads = [wl for wl in workloads if wl.id in results]
        print("interrupted", file=sys.stderr)
        rc = 130
    finally:
        progress.done()

    threads = ", ".join(f"{l.label} {l.threads}" for l in libs if l.threads is not None)
    print(f"{report.cpu_model()}, {os.cpu_count()} cores; threads: {threads or 'n/a'}\n")
    print(report.table(workloads, results, libs))
    notes = [f"{l.header} not importable: {l.error}" for l in libs if l.module is None]
    notes += report.notes(workloads, results)
    if notes:
        print("\nNotes:")
        print("\n".join(f"  {n}" for n in notes))
    if args.json:
        report.to_json(args.json, {**vars(args), "loadavg_at_start": load}, libs, workloads, results)
        print(f"\nwrote {args.json}", file=sys.stderr)
    return rc


if __name__ == "__main__":
    sys.exit(main())
