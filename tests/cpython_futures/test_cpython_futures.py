"""CPython's own concurrent.futures thread-pool and Future tests, run against
fastconc.ThreadPoolExecutor (see run_cpython_futures.py), in a child
interpreter so that the patched stdlib does not leak into other tests.

`make test-cpython-futures` runs the same on every installed Python that
ships the tests (3.9, 3.10, 3.13 here)."""
import importlib.util
import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_cpython_concurrent_futures_suite():
    if importlib.util.find_spec("test.test_concurrent_futures") is None:
        pytest.skip(f"Python {sys.version.split()[0]} does not ship "
                    "test.test_concurrent_futures")
    r = subprocess.run([sys.executable,
                        os.path.join(HERE, "run_cpython_futures.py")],
                       capture_output=True, text=True, timeout=880,
                       cwd=ROOT, env=dict(os.environ, PYTHONPATH=ROOT))
    assert r.returncode == 0, r.stdout[-5000:] + r.stderr[-5000:]
