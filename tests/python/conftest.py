"""pytest configuration for gradcore's Python tests.

``import gradcore`` must work when the tests are run from a source checkout
without installing the package, but an installed gradcore always wins: the
in-tree ``python/`` directory is only added to ``sys.path`` when gradcore
cannot be imported as things stand.
"""

import pathlib
import sys

import pytest

_HERE = pathlib.Path(__file__).resolve().parent
_REPO_PYTHON = _HERE.parents[1] / "python"

try:
    import gradcore  # noqa: F401
except ImportError:
    sys.path.insert(0, str(_REPO_PYTHON))
    # Drop any half-imported module left behind by the failed attempt.
    for _name in [n for n in sys.modules if n == "gradcore" or n.startswith("gradcore.")]:
        del sys.modules[_name]

# The shared helpers (tests/python/helpers.py) are importable as ``helpers``
# whatever pytest's import mode is.
if str(_HERE) not in sys.path:
    sys.path.insert(0, str(_HERE))


def pytest_configure(config):
    config.addinivalue_line("markers", "requires_torch: compares against PyTorch; skipped when torch is absent")


def pytest_collection_modifyitems(config, items):
    try:
        import torch  # noqa: F401
    except ImportError:
        skip = pytest.mark.skip(reason="torch is not installed")
        for item in items:
            if "requires_torch" in item.keywords:
                item.add_marker(skip)


@pytest.fixture
def rng(request):
    """A numpy Generator seeded from the test's node id: reproducible, different per test."""
    import zlib

    import numpy as np

    return np.random.default_rng(zlib.crc32(request.node.nodeid.encode()))
