#!/usr/bin/env bash
# Runs every test: installs gradcore, builds and runs the GoogleTest binary (plain and under
# AddressSanitizer + UBSan), then pytest. This is the README's test command; CI runs exactly it.
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=${JOBS:-2}

# GoogleTest is not on PyPI: it comes from Debian.
if [ ! -f /usr/include/gtest/gtest.h ]; then
  echo "== installing GoogleTest (libgtest-dev)"
  apt-get update -qq && apt-get install -y -qq libgtest-dev >/dev/null
fi

echo "== installing gradcore"
python3 -m pip install -q --disable-pip-version-check ".[test]"

echo "== C++ tests (Release)"
cmake -S . -B build/tests -DCMAKE_BUILD_TYPE=Release -DGRADCORE_BUILD_PYTHON=OFF >/dev/null
cmake --build build/tests -j "$JOBS"
ctest --test-dir build/tests --no-tests=error --output-on-failure -j "$JOBS"

echo "== C++ tests (AddressSanitizer + UBSan)"
cmake -S . -B build/tests-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGRADCORE_SANITIZE=ON -DGRADCORE_BUILD_PYTHON=OFF >/dev/null
cmake --build build/tests-asan -j "$JOBS"
ctest --test-dir build/tests-asan --no-tests=error --output-on-failure -j "$JOBS"

echo "== Python tests"
python3 -m pytest tests/python -q
