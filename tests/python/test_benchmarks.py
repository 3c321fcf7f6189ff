"""The benchmark CLI (benchmarks/run.py): one short workload end to end, its table and its JSON."""
import json
import os
import pathlib
import subprocess
import sys

import gradcore

ROOT = pathlib.Path(__file__).resolve().parents[2]


def run_cli(*args):
    # The child imports the same gradcore as this process (installed, or the source tree's).
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(pathlib.Path(gradcore.__file__).parents[1])] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    return subprocess.run([sys.executable, str(ROOT / "benchmarks" / "run.py"), *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


def test_one_workload_prints_a_table_and_writes_json(tmp_path):
    out = tmp_path / "bench.json"
    r = run_cli("--only", "2x2 + 2", "--libs", "gradcore,numpy", "--repeat", "2", "--min-time", "0.01",
                "--json", str(out))
    assert r.returncode == 0, r.stderr
    assert "2x2 + 2 (no grad)" in r.stdout and "numpy/gradcore" in r.stdout
    data = json.loads(out.read_text())
    assert data["machine"]["versions"]["gradcore"] == gradcore.__version__
    assert data["reference"] == "gradcore"
    [result] = data["results"]
    assert result["id"] == "micro/2x2 + 2 (no grad)"
    mine = result["libs"]["gradcore"]
    assert mine["status"] == "ok" and mine["rounds"] == 2 and mine["ratio"] == 1.0
    assert 0 < mine["best_ns"] <= mine["median_ns"]
    assert result["libs"]["numpy"]["ratio"] > 0


def test_list_and_unknown_filter():
    r = run_cli("--list")
    assert r.returncode == 0 and "training/MLP step 128x784-512-10" in r.stdout
    r = run_cli("--only", "no such workload", "--libs", "gradcore")
    assert r.returncode == 2 and "no workload matches" in r.stderr
