#!/usr/bin/env bash
# Runs the SIMD GoogleTests on emulated CPUs, so every dispatch path of the kernels is exercised on
# this AVX-512 machine: `qemu-x86_64 -cpu Haswell` (AVX2+FMA path) and `-cpu Nehalem` (baseline
# x86-64 path), checking that each run actually took the expected path. Needs Debian's qemu-user
# (apt-get install -y qemu-user); skipped with a message when it is absent. Not part of CI.
#
#   tests/run_qemu.sh [path/to/gradcore_tests]      (default: builds build/gtest)
# GTEST_FILTER selects tests (default Simd*); GRADCORE_SIMD_SWEEP_STRIDE thins the ulp sweeps
# (default here 4099: ~1M float32 values; emulation is ~50x slower than native).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v qemu-x86_64 >/dev/null; then
  echo "qemu-x86_64 not found (apt-get install -y qemu-user): skipping the emulated-CPU tests"
  exit 0
fi
BIN=${1:-}
if [ -z "$BIN" ]; then
  cmake -S . -B build/gtest -G Ninja -DGRADCORE_BUILD_TESTS=ON -DGRADCORE_BUILD_PYTHON=OFF >/dev/null
  cmake --build build/gtest -j "${JOBS:-2}"
  BIN=build/gtest/gradcore_tests
fi
export GRADCORE_SIMD_SWEEP_STRIDE=${GRADCORE_SIMD_SWEEP_STRIDE:-4099}
FILTER=${GTEST_FILTER:-Simd*}
status=0
for pair in Haswell:avx2 Nehalem:default; do
  cpu=${pair%%:*}
  cap=${pair##*:}
  echo "== qemu-x86_64 -cpu $cpu (expecting the $cap path)"
  if ! GRADCORE_EXPECT_CPU_CAPABILITY=$cap qemu-x86_64 -cpu "$cpu" "$BIN" --gtest_filter="$FILTER" --gtest_brief=1; then
    status=1
  fi
done
exit $status
