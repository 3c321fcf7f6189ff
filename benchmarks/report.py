"""Result table (stdout), notes, and the JSON record."""
from __future__ import annotations

import datetime
import importlib.metadata
import json
import os
import platform
import sys
from typing import Any, Optional

from .harness import Lib, Measurement
from .workloads import Workload


def _unicode_ok() -> bool:
    try:
        "µ—×".encode(sys.stdout.encoding or "ascii")
        return True
    except (UnicodeEncodeError, LookupError):
        return False


UNICODE = _unicode_ok()
DASH = "—" if UNICODE else "-"
MICRO = "µs" if UNICODE else "us"


def fmt_time(ns: Optional[float]) -> str:
    if ns is None:
        return DASH
    unit, v = next(((u, ns / k) for u, k in (("ns", 1), (MICRO, 1e3), ("ms", 1e6)) if ns < 1000 * k), ("s", ns / 1e9))
    return f"{num(v)} {unit}"


def num(v: float) -> str:
    """Three significant digits, without switching to exponent notation."""
    return f"{v:.0f}" if v >= 100 else f"{v:.1f}" if v >= 10 else f"{v:.2f}"


def ratio(m: Measurement, ref: Measurement) -> Optional[float]:
    """other time / reference time: > 1 means the reference library (gradcore) is faster."""
    if m.best_ns is None or ref.best_ns is None:
        return None
    return m.best_ns / ref.best_ns


def throughput(wl: Workload, best_ns: Optional[float]) -> Optional[tuple[float, str]]:
    if best_ns is None:
        return None
    if wl.flops:
        return wl.flops / best_ns, "GFLOP/s"  # flops per ns == GFLOP/s
    if wl.bytes:
        return wl.bytes / best_ns, "GB/s"
    return None


def cell(m: Measurement) -> str:
    if m.status == "ok":
        return fmt_time(m.best_ns)
    return "error" if m.status == "error" else DASH  # errors are bugs, not missing ops: say so


def table(workloads: list[Workload], results: dict[str, dict[str, Measurement]], libs: list[Lib]) -> str:
    """Markdown-compatible table; ratios and throughput are relative to the first library."""
    ref, others = libs[0], libs[1:]
    head = ["suite", "workload", *(l.header for l in libs),
            *(f"{o.label}/{ref.label}" for o in others), f"{ref.label} throughput"]
    rows = []
    for wl in workloads:
        res = results[wl.id]
        ratios = [ratio(res[o.label], res[ref.label]) for o in others]
        tp = throughput(wl, res[ref.label].best_ns)
        rows.append([wl.suite, wl.name, *(cell(res[l.label]) for l in libs),
                     *(DASH if r is None else f"{r:.2f}" for r in ratios),
                     DASH if tp is None else f"{num(tp[0])} {tp[1]}"])
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]

    def line(r):  # text columns left-aligned, numbers right-aligned
        return "| " + " | ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))) + " |"

    sep = "|" + "|".join(("-" * (w + 2)) if i < 2 else ("-" * (w + 1) + ":") for i, w in enumerate(widths)) + "|"
    legend = (f"Times are best-of-rounds per call. Ratio columns are other/{ref.label} time: "
              f">1 means {ref.label} is faster. {DASH} = library missing or op unsupported.")
    return "\n".join([line(head), sep, *map(line, rows), "", legend])


def notes(workloads: list[Workload], results: dict[str, dict[str, Measurement]]) -> list[str]:
    """Why cells are empty: one line per unsupported/failed (workload, library)."""
    out = []
    for wl in workloads:
        for label, m in results[wl.id].items():
            if m.status in ("unsupported", "error"):
                out.append(f"{label} {m.status} on {wl.id}: {m.note}")
    return out


# --------------------------------------------------------------------------------------------
# JSON


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for row in f:
                if row.startswith("model name"):
                    return row.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _dist_version(name: str) -> Optional[str]:
    """The installed distribution's version, else the imported module's (a source tree on PYTHONPATH)."""
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return getattr(sys.modules.get(name), "__version__", None)


def machine_info(threads: int) -> dict[str, Any]:
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "threads_requested": threads,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "versions": {n: _dist_version(n) for n in ("gradcore", "torch", "numpy")},
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
    }


def to_json(path: str, args: dict[str, Any], libs: list[Lib], workloads: list[Workload],
            results: dict[str, dict[str, Measurement]]) -> None:
    ref = libs[0]
    doc = {
        "machine": machine_info(args["threads"]),
        "config": args,
        "reference": ref.label,
        "libs": {l.label: {"module": l.modname, "available": l.module is not None, "version": l.version,
                           "threads": l.threads, "error": l.error or None} for l in libs},
        "results": [],
    }
    for wl in workloads:
        res = results[wl.id]
        entry = {"id": wl.id, "suite": wl.suite, "name": wl.name, "bytes": wl.bytes or None,
                 "flops": wl.flops or None, "libs": {}}
        for label, m in res.items():
            tp = throughput(wl, m.best_ns)
            entry["libs"][label] = {
                "status": m.status, "best_ns": m.best_ns, "median_ns": m.median_ns, "loops": m.loops,
                "rounds": len(m.samples_ns), "samples_ns": m.samples_ns,
                # same convention as the table: this lib's time / reference's; > 1: reference faster
                "ratio": ratio(m, res[ref.label]),
                "throughput": tp and tp[0], "throughput_unit": tp and tp[1], "note": m.note or None,
            }
        doc["results"].append(entry)
    with open(path, "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")
