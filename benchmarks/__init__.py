"""gradcore vs PyTorch (vs numpy) benchmark suite; run `python -m benchmarks --help`."""
