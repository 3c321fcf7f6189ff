"""Runtime: the caching allocator's statistics, the kernel thread pool (thread counts, determinism,
fork and exit safety) and the GIL being released around large kernels."""
import math
import multiprocessing
import os
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

import gradcore as gc

N4M = 1 << 20  # float32 elements in 4 MiB: an exact size class, so capacity == requested bytes
BIG = 1 << 21  # above the parallel threshold with room to spare
# Subprocesses import the same gradcore as this process (installed, or the in-tree build).
PYTHON_DIR = os.path.dirname(os.path.dirname(os.path.abspath(gc.__file__)))


@pytest.fixture
def threads():
    """Restores the thread count a test changes."""
    before = gc.get_num_threads()
    yield
    gc.set_num_threads(before)


# ---- memory_stats ----------------------------------------------------------------------------------

KEYS = {"allocated_bytes", "requested_bytes", "cached_bytes", "peak_allocated_bytes", "cache_limit_bytes", "num_allocs",
        "num_cache_hits", "num_frees", "num_system_allocs", "num_system_frees"}


def test_memory_stats_keys():
    s = gc.memory_stats()
    assert set(s) == KEYS
    assert all(isinstance(v, int) and v >= 0 for v in s.values())
    assert s["cache_limit_bytes"] > 0


def test_allocation_and_free_are_counted():
    gc.empty_cache()
    s0 = gc.memory_stats()
    x = gc.empty(N4M)
    s1 = gc.memory_stats()
    assert s1["num_allocs"] == s0["num_allocs"] + 1
    assert s1["num_system_allocs"] == s0["num_system_allocs"] + 1  # the cache was empty
    assert s1["allocated_bytes"] == s0["allocated_bytes"] + 4 * N4M
    assert s1["requested_bytes"] == s0["requested_bytes"] + 4 * N4M
    del x
    s2 = gc.memory_stats()
    assert s2["num_frees"] == s0["num_frees"] + 1
    assert s2["allocated_bytes"] == s0["allocated_bytes"]
    assert s2["cached_bytes"] == s0["cached_bytes"] + 4 * N4M


def test_cache_hit_after_free_and_realloc_of_the_same_size():
    gc.empty_cache()
    x = gc.empty(N4M)
    ptr = x.data_ptr() if hasattr(x, "data_ptr") else None
    del x
    s0 = gc.memory_stats()
    y = gc.empty(N4M)
    s1 = gc.memory_stats()
    assert s1["num_cache_hits"] == s0["num_cache_hits"] + 1
    assert s1["num_system_allocs"] == s0["num_system_allocs"]
    assert s1["cached_bytes"] == s0["cached_bytes"] - 4 * N4M
    if ptr is not None:
        assert y.data_ptr() == ptr
    # A slightly smaller request of the same size class reuses the buffer too.
    del y
    s2 = gc.memory_stats()
    z = gc.empty(N4M - 100)
    assert gc.memory_stats()["num_cache_hits"] == s2["num_cache_hits"] + 1
    del z


def test_elementwise_loop_reuses_buffers():
    x = gc.ones(BIG)
    y = x + x  # warm: the result buffer's size class is now cached after `del`
    del y
    s0 = gc.memory_stats()
    for _ in range(5):
        y = x + x
        del y
    s1 = gc.memory_stats()
    assert s1["num_allocs"] - s0["num_allocs"] == 5
    assert s1["num_cache_hits"] - s0["num_cache_hits"] == 5
    assert s1["num_system_allocs"] == s0["num_system_allocs"]


def test_peak_and_reset():
    gc.empty_cache()
    gc.reset_peak_memory_stats()
    base = gc.memory_stats()["allocated_bytes"]
    assert gc.memory_stats()["peak_allocated_bytes"] == base
    a = gc.empty(N4M)
    b = gc.empty(N4M)
    assert gc.memory_stats()["peak_allocated_bytes"] == base + 8 * N4M
    del a, b
    s = gc.memory_stats()
    assert s["allocated_bytes"] == base
    assert s["peak_allocated_bytes"] == base + 8 * N4M  # the peak stays
    gc.reset_peak_memory_stats()
    assert gc.memory_stats()["peak_allocated_bytes"] == base


def test_empty_cache_returns_cached_bytes_to_zero():
    x = gc.empty(N4M)
    del x
    assert gc.memory_stats()["cached_bytes"] >= 4 * N4M
    s0 = gc.memory_stats()
    gc.empty_cache()
    s1 = gc.memory_stats()
    assert s1["cached_bytes"] == 0
    assert s1["num_system_frees"] > s0["num_system_frees"]
    assert s1["allocated_bytes"] == s0["allocated_bytes"]


def test_cache_limit_bounds_the_cache():
    limit = gc.memory_stats()["cache_limit_bytes"]
    try:
        gc._C._set_cache_limit(4 * N4M)
        a, b = gc.empty(N4M), gc.empty(N4M)
        gc.empty_cache()
        del a, b  # the first fits in the 4 MiB cache, the second goes back to the system
        assert gc.memory_stats()["cached_bytes"] == 4 * N4M
        gc._C._set_cache_limit(0)
        assert gc.memory_stats()["cached_bytes"] == 0
        s0 = gc.memory_stats()
        x = gc.empty(N4M)
        del x
        assert gc.memory_stats()["cached_bytes"] == 0
        assert gc.memory_stats()["num_system_frees"] == s0["num_system_frees"] + 1
    finally:
        gc._C._set_cache_limit(limit)


def test_borrowed_memory_bypasses_the_allocator():
    arr = np.ones(N4M, dtype=np.float32)
    s0 = gc.memory_stats()
    t = gc.from_numpy(arr)
    del t
    s1 = gc.memory_stats()
    assert s1["num_allocs"] == s0["num_allocs"]
    assert s1["num_frees"] == s0["num_frees"]


def test_size_classes_hand_out_aligned_distinct_buffers():
    ts = [gc.empty(n) for n in (1, 3, 17, 100, 1000, 12345, 70000)]
    if hasattr(ts[0], "data_ptr"):
        ptrs = [t.data_ptr() for t in ts]
        assert all(p % 64 == 0 for p in ptrs)
        assert len(set(ptrs)) == len(ptrs)
    for i, t in enumerate(ts):
        t.fill_(float(i)) if hasattr(t, "fill_") else None


# ---- threads ---------------------------------------------------------------------------------------

def test_set_get_num_threads(threads):
    assert gc.get_num_threads() >= 1
    gc.set_num_threads(1)
    assert gc.get_num_threads() == 1
    gc.set_num_threads(3)
    assert gc.get_num_threads() == 3
    with pytest.raises(RuntimeError, match="positive integer"):
        gc.set_num_threads(0)
    assert gc.get_num_threads() == 3


def test_default_num_threads_is_usable_cores():
    code = "import gradcore, os; print(gradcore.get_num_threads(), len(os.sched_getaffinity(0)))"
    out = subprocess.run([sys.executable, "-c", code], env=_env(), capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    a, b = out.stdout.split()
    assert a == b


def _inputs():
    rng = np.random.default_rng(5)
    a = rng.standard_normal((513, 1031)).astype(np.float32)
    b = rng.standard_normal((1031,)).astype(np.float32)
    c = rng.standard_normal((1031, 513)).astype(np.float32)
    return gc.from_numpy(a), gc.from_numpy(b), gc.from_numpy(c).t()


ELEMENTWISE = {
    "add": lambda a, b, ct: a + b,
    "mul_scalar": lambda a, b, ct: a * 1.5,
    "exp": lambda a, b, ct: a.exp(),
    "tanh_strided": lambda a, b, ct: ct.tanh(),
    "sub_transposed": lambda a, b, ct: a - ct,
    "where": lambda a, b, ct: gc.where(a > 0, a, ct),
    "cast": lambda a, b, ct: ct.double(),
    "neg_slice": lambda a, b, ct: -a[:, ::2],
    "inplace": lambda a, b, ct: a.clone().mul_(ct),
}

REDUCTIONS = {
    "sum": lambda a, b, ct: a.sum(),
    "sum_strided": lambda a, b, ct: ct.sum(),
    "sum0": lambda a, b, ct: a.sum(0),
    "sum1": lambda a, b, ct: a.sum(1),
    "sum1_strided": lambda a, b, ct: ct.sum(1),
    "mean_long_rows": lambda a, b, ct: a.reshape(3, -1).mean(1),
    "max": lambda a, b, ct: a.max(),
    "argmax": lambda a, b, ct: a.argmax(),
    "amin0": lambda a, b, ct: ct.amin(0),
    "var": lambda a, b, ct: a.var(),
    "prod": lambda a, b, ct: (a * 1e-3 + 1).prod(),
    "norm": lambda a, b, ct: ct.norm(),
    "any": lambda a, b, ct: (a > 4.5).any(),
}


@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
def test_elementwise_identical_for_any_thread_count(name, threads):
    a, b, ct = _inputs()
    results = []
    for n in (1, 2, 3):
        gc.set_num_threads(n)
        results.append(ELEMENTWISE[name](a, b, ct).numpy())
    assert results[0].size >= 1 << 18
    for r in results[1:]:
        np.testing.assert_array_equal(r, results[0])


@pytest.mark.parametrize("name", sorted(REDUCTIONS))
def test_reductions_deterministic_across_thread_counts(name, threads):
    import torch
    a, b, ct = _inputs()
    results = []
    for n in (1, 2, 3):
        gc.set_num_threads(n)
        results.append(REDUCTIONS[name](a, b, ct).numpy())
    for r in results[1:]:
        np.testing.assert_array_equal(r, results[0])  # same pieces, same order: bitwise equal
    ta, tb, tct = (torch.from_numpy(x.numpy()) for x in (a, b, ct.t()))
    expected = REDUCTIONS[name](ta, tb, tct.t()).numpy()
    np.testing.assert_allclose(results[0], expected, rtol=2e-5, atol=1e-5)


def test_sum_of_16m_accurate_with_threads(threads):
    x = gc.from_numpy(np.full(1 << 24, 0.1, dtype=np.float32))
    gc.set_num_threads(2)
    # Within one float32 ulp (0.125 here) of the exact sum; torch's cascade is 7 ulps off.
    assert abs(float(x.sum()) - (1 << 24) * float(np.float32(0.1))) <= 0.125


def test_large_gathers_split_over_threads_match_numpy(threads):
    # Row gathers (distinct output blocks) run on the pool; repeated indices and strided sources too.
    gc.set_num_threads(2)
    a = np.random.default_rng(3).standard_normal((1024, 300)).astype(np.float32)
    idx = np.random.default_rng(4).integers(0, 1024, 2000)
    x = gc.from_numpy(a)
    np.testing.assert_array_equal(x[gc.from_numpy(idx)].numpy(), a[idx])
    np.testing.assert_array_equal(x.t()[gc.from_numpy(idx % 300)].numpy(), a.T[idx % 300])
    np.testing.assert_array_equal(x.index_select(0, gc.from_numpy(idx)).numpy(), a[idx])
    # Writes that repeat a destination stay serial: the last value written wins, as in numpy.
    y = gc.zeros(1024, 300)
    y[gc.from_numpy(idx)] = gc.from_numpy(np.repeat(np.arange(2000, dtype=np.float32)[:, None], 300, 1))
    want = np.zeros((1024, 300), np.float32)
    want[idx] = np.arange(2000, dtype=np.float32)[:, None]
    np.testing.assert_array_equal(y.numpy(), want)


def test_overlapping_inplace_stays_serial(threads):
    # x[1:] += x[:-1] on an overlapping view keeps the serial (running-sum) result.
    gc.set_num_threads(2)
    x = gc.ones(BIG)
    x[1:].add_(x[:-1])
    assert float(x[-1]) == float(BIG)


def test_concurrent_python_threads_compute_correctly(threads):
    gc.set_num_threads(2)
    x = gc.from_numpy(np.arange(BIG, dtype=np.float32))
    expected = (np.arange(BIG, dtype=np.float32) * 2 + 1)
    errors = []

    def work():
        try:
            for _ in range(10):
                np.testing.assert_array_equal((x * 2 + 1).numpy(), expected)
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    ts = [threading.Thread(target=work) for _ in range(3)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(120)
    assert not errors
    assert not any(t.is_alive() for t in ts)


# ---- wrapped numbers -------------------------------------------------------------------------------
# Python numbers in ops become read-only 0-dim tensors that each thread reuses (ops/pointwise.cpp):
# a reused one must never stand in for another value, dtype or mode.

def test_reused_numbers_keep_value_dtype_and_sign():
    x32, x64, xi = gc.ones(3), gc.ones(3, dtype=gc.float64), gc.ones(3, dtype=gc.int64)
    for _ in range(3):
        assert (x32 + 2).dtype == gc.float32 and (x64 + 2).dtype == gc.float64
        assert (xi + 2).dtype == gc.int64 and (xi + 2.5).dtype == gc.float32
        assert (x32 + 2).tolist() == [3.0] * 3 and (x32 + 2.5).tolist() == [3.5] * 3
        assert (xi * 3).tolist() == [3] * 3 and (xi * True).tolist() == [1] * 3
        # -0.0 and 0.0 are different numbers here: x * -0.0 is -0.0
        assert [math.copysign(1, v) for v in (x32 * -0.0).tolist()] == [-1.0] * 3
        assert [math.copysign(1, v) for v in (x32 * 0.0).tolist()] == [1.0] * 3
        assert all(math.isnan(v) for v in (x32 * float("nan")).tolist())
    for v in range(40):  # more numbers than the cache holds, twice
        assert (x64 * v).tolist() == [float(v)] * 3 and (x64 * (v + 0.5)).tolist() == [v + 0.5] * 3


def test_number_wrapped_in_inference_mode_can_be_saved_later():
    with gc.inference_mode():
        gc.ones(2) * 3.0
    w = gc.ones(2, requires_grad=True)
    (w * 3.0).sum().backward()  # MulBackward0 saves the wrapped 3.0: it must not be an inference tensor
    assert w.grad.tolist() == [3.0, 3.0]


def test_wrapped_numbers_in_threads():
    def work(i, out):
        x = gc.ones(4, dtype=gc.float64)
        out[i] = all((x * k + i).tolist() == [k + i] * 4 for k in range(30))
    out = [False] * 4
    threads = [threading.Thread(target=work, args=(i, out)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(out)


# ---- fork and exit ---------------------------------------------------------------------------------

def _child_work(q):
    x = gc.ones(BIG)
    q.put(float((x + x).sum()))


def test_fork_child_runs_parallel_ops(threads):
    gc.set_num_threads(2)
    x = gc.ones(BIG)
    assert float((x * 3).sum()) == 3 * BIG  # the pool is running in the parent
    ctx = multiprocessing.get_context("fork")
    q = ctx.Queue()
    p = ctx.Process(target=_child_work, args=(q,))
    p.start()
    p.join(60)
    if p.is_alive():
        p.kill()
        pytest.fail("forked child hung in a parallel op")
    assert p.exitcode == 0
    assert q.get(timeout=5) == 2 * BIG
    assert float((x * 3).sum()) == 3 * BIG  # the parent's pool still works


def test_os_fork_child_exits(threads):
    gc.set_num_threads(2)
    x = gc.ones(BIG)
    (x + x).sum()
    pid = os.fork()
    if pid == 0:  # child: a big parallel op, then exit without running pytest's teardown
        try:
            ok = float((x + x).sum()) == 2 * BIG and gc.get_num_threads() == 2
        except BaseException:
            ok = False
        os._exit(0 if ok else 1)
    deadline = time.time() + 60
    while time.time() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            assert os.waitstatus_to_exitcode(status) == 0
            return
        time.sleep(0.05)
    os.kill(pid, 9)
    os.waitpid(pid, 0)
    pytest.fail("forked child hung")


def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = PYTHON_DIR + os.pathsep + env.get("PYTHONPATH", "")
    return env


EXIT_SCRIPTS = {
    "pool_idle": "import gradcore as gc\nx = gc.ones(1 << 21)\nprint(float((x + x).sum()))\n",
    "daemon_in_kernel": (
        "import threading, gradcore as gc\n"
        "x = gc.ones(1 << 23)\n"
        "def spin():\n"
        "    while True:\n"
        "        (x * 2).sum()\n"
        "threading.Thread(target=spin, daemon=True).start()\n"
        "import time; time.sleep(0.3)\n"
        "print('bye')\n"
    ),
    "tensors_alive": "import gradcore as gc\nxs = [gc.ones(1 << 20) for _ in range(4)]\nys = [x.exp() for x in xs]\n",
}


@pytest.mark.parametrize("name", sorted(EXIT_SCRIPTS))
def test_interpreter_exit_with_pool_alive(name):
    out = subprocess.run([sys.executable, "-c", EXIT_SCRIPTS[name]], env=_env(), capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr


# ---- the GIL -----------------------------------------------------------------------------------------

def test_big_kernel_releases_the_gil(threads):
    """A watchdog thread keeps ticking while the main thread is inside one big kernel."""
    gc.set_num_threads(1)
    ticks = []
    stop = threading.Event()

    def watchdog():
        while not stop.is_set():
            ticks.append(time.perf_counter())
            time.sleep(0.0005)

    t = threading.Thread(target=watchdog)
    t.start()
    try:
        n = 1 << 22
        for _ in range(6):
            x = gc.ones(n)
            x.exp()  # warm the cache
            time.sleep(0.01)
            t0 = time.perf_counter()
            x.exp()
            t1 = time.perf_counter()
            if t1 - t0 > 0.05 or n >= 1 << 26:
                break
            n *= 2
        inside = [s for s in ticks if t0 < s < t1]
    finally:
        stop.set()
        t.join()
    # Holding the GIL would allow at most a tick or two at the edges; released, the watchdog ticks
    # every ~0.5 ms (a generous floor for a loaded machine).
    assert len(inside) >= max(3, int((t1 - t0) / 0.0005 * 0.05)), (len(inside), t1 - t0)
