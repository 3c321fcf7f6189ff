"""Library loading and timing.

Timing model, per workload:
  1. setup + one call per library (warm-up, and the probe that finds missing ops),
  2. calibrate a loop count per library so one batch lasts at least --min-time (like
     timeit.autorange),
  3. timed rounds, interleaved across libraries (A, B, A, B, ...) so that drift in machine
     state (frequency, other load) hits every library alike; report best and median per call.
"""
from __future__ import annotations

import gc
import importlib
import itertools
import math
import statistics
import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from .workloads import UNSUPPORTED, NoVariant, Workload


@dataclass
class Lib:
    label: str  # column name, e.g. "gradcore"
    modname: str  # module actually imported (differs for stand-ins: gradcore=torch)
    module: Any = None  # None when not importable
    error: str = ""
    threads: Optional[int] = None

    @property
    def version(self) -> Optional[str]:
        return getattr(self.module, "__version__", None) if self.module else None

    @property
    def header(self) -> str:
        return self.label if self.label == self.modname else f"{self.label}={self.modname}"


def load_libs(spec: str, threads: int) -> list[Lib]:
    """Parse "gradcore,torch,numpy" (items may be LABEL=MODULE) and import each library."""
    libs = []
    for item in filter(None, (s.strip() for s in spec.split(","))):
        label, _, modname = item.partition("=")
        lib = Lib(label, modname or label)
        try:
            lib.module = importlib.import_module(lib.modname)
        except Exception as e:  # a half-built extension raises more than ImportError
            lib.error = f"{type(e).__name__}: {e}"
        else:
            # Same thread count for every library that lets us choose it (torch-style API).
            if hasattr(lib.module, "set_num_threads"):
                lib.module.set_num_threads(threads)
            if hasattr(lib.module, "get_num_threads"):
                lib.threads = lib.module.get_num_threads()
        libs.append(lib)
    return libs


@dataclass
class Measurement:
    # ok | missing (lib not importable) | n/a (no variant) | unsupported (op missing) | error
    status: str
    samples_ns: list = field(default_factory=list)  # per-call time of each timed round
    loops: int = 0  # calls per batch
    note: str = ""

    @property
    def best_ns(self) -> Optional[float]:
        return min(self.samples_ns) if self.samples_ns else None

    @property
    def median_ns(self) -> Optional[float]:
        return statistics.median(self.samples_ns) if self.samples_ns else None


def batch_ns(call: Callable[[], Any], loops: int) -> int:
    """Wall time of `loops` back-to-back calls. GC is off inside the batch (as in timeit):
    collections would otherwise land in random batches and only add noise."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        t0 = time.perf_counter_ns()
        for _ in itertools.repeat(None, loops):
            call()
        return time.perf_counter_ns() - t0
    finally:
        if was_enabled:
            gc.enable()


def settle(slice_s: float = 0.005, timeout_s: float = 0.5) -> None:
    """Wait until no thread of this process is burning CPU. Thread pools busy-wait after a
    parallel region (OpenBLAS for ~2**28 cycles, i.e. ~0.1 s; OpenMP for a shorter while), and
    on 2 cores a spinning pool from the previous library steals a core from the next one's
    batch: without this, numpy's matmul made the following library look ~1.5x slower."""
    deadline = time.perf_counter() + timeout_s
    while time.perf_counter() < deadline:
        cpu0 = time.process_time_ns()  # CPU time of all threads of the process
        time.sleep(slice_s)
        if time.process_time_ns() - cpu0 < 0.1 * slice_s * 1e9:
            return


def calibrate(call: Callable[[], Any], min_ns: float, first_ns: int) -> tuple[int, int]:
    """Smallest-ish loop count whose batch lasts >= min_ns; returns (loops, last batch time).
    Grows from the last measured rate, at least x2 per step (cold first calls look slow) and
    at most x100 (so one misleading fast sample cannot overshoot wildly)."""
    loops, t = 1, first_ns
    while t < min_ns:
        want = math.ceil(loops * 1.2 * min_ns / max(t, 1))
        loops = max(2 * loops, min(100 * loops, want))
        t = batch_ns(call, loops)
    return loops, t


def _fail(e: BaseException) -> Measurement:
    status = "unsupported" if isinstance(e, UNSUPPORTED) else "error"
    frame = traceback.extract_tb(e.__traceback__)[-1] if e.__traceback__ else None
    where = f" [{frame.filename.rsplit('/', 1)[-1]}:{frame.lineno}]" if frame else ""
    return Measurement(status, note=f"{type(e).__name__}: {e}"[:200] + where)


def measure(wl: Workload, libs: list[Lib], repeat: int, min_time: float, max_time: float,
            progress: Callable[[str], None] = lambda msg: None) -> dict[str, Measurement]:
    """Time one workload on every library; returns {lib label: Measurement}."""
    results: dict[str, Measurement] = {}
    states, rounds = {}, {}
    for lib in libs:
        if lib.module is None:
            results[lib.label] = Measurement("missing", note=lib.error)
            continue
        progress(f"{lib.label}: setup")
        try:
            state = wl.setup(lib.module)
            settle()
            first = batch_ns(state, 1)
            progress(f"{lib.label}: calibrating")
            loops, t = calibrate(state, min_time * 1e9, first)
        except NoVariant:
            results[lib.label] = Measurement("n/a")
            continue
        except Exception as e:
            results[lib.label] = _fail(e)
            continue
        states[lib.label] = state
        results[lib.label] = Measurement("ok", loops=loops)
        # Expensive workloads (or a slow library) get fewer rounds: at least one, and no more
        # than fit in max_time. Cheap ones get the full --repeat.
        rounds[lib.label] = max(1, min(repeat, int(max_time * 1e9 // max(t, 1))))

    for r in range(max(rounds.values(), default=0)):
        for label, state in list(states.items()):
            m = results[label]
            if len(m.samples_ns) >= rounds[label]:
                continue
            progress(f"{label}: round {r + 1}/{rounds[label]}")
            settle()  # let the previous batch's worker threads go idle first
            try:
                m.samples_ns.append(batch_ns(state, m.loops) / m.loops)
            except Exception as e:
                results[label] = _fail(e)
                del states[label]
    state = None
    states.clear()
    gc.collect()  # free this workload's (possibly large) inputs before the next one
    return results
