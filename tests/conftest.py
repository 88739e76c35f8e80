"""Shared fixtures: the random generator, the SIMD levels, and the Ctrl-C
harness; the ``timing`` and ``bigmem`` markers.

- ``timing``: a test (or a fixture variant) that compares wall-clock times
  or counts with fixed bounds.  Left out unless asked for by name (``-m
  timing``, ``make timing``), so the unit run never fails because the
  machine was busy.
- ``bigmem(gib=N)``: the test needs N GiB of memory (RAM and swap: a large
  allocation of untouched zero pages still needs the kernel to accept it);
  skipped on a smaller machine.  ``bigmem`` tests are left out of the ASan
  and other-Pythons runs.
"""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
from collections.abc import Callable
from typing import Any

import pytest

import fastconc

# A runner that starts the suite in the background of a non-interactive
# shell (`make test &`, nohup) leaves SIGINT ignored, and an ignored signal
# stays ignored across exec: no interpreter of the Ctrl-C tests (this one
# or the children they start) would ever see KeyboardInterrupt.  Take
# SIGINT back here: a handled signal is reset to the default at exec, so
# the children install Python's own handler again.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GiB = 1 << 30


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    if "timing" in (config.getoption("markexpr") or ""):
        return
    kept, dropped = [], []
    for item in items:
        (dropped if item.get_closest_marker("timing") else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


def _memory_bytes() -> int | None:
    """RAM plus swap, from /proc/meminfo (Linux); None elsewhere."""
    total = 0
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key in ("MemTotal", "SwapTotal"):
                    total += int(value.split()[0]) * 1024
    except OSError:
        return None
    return total or None


def pytest_runtest_setup(item: Any) -> None:
    mark = item.get_closest_marker("bigmem")
    if mark is None or "gib" not in mark.kwargs:
        return
    have = _memory_bytes()
    need = mark.kwargs["gib"] * GiB
    if have is not None and have < need:
        pytest.skip(f"needs {mark.kwargs['gib']} GiB of memory, this "
                    f"machine has {have / GiB:.1f} GiB")


@pytest.fixture
def rng():
    return random.Random(int(os.environ.get("FASTCONC_TEST_SEED", "1234")))


@pytest.fixture(params=fastconc._core._simd_levels())
def simd_level(request):
    """Run a test once per SIMD level this CPU can run (down to portable)."""
    old = fastconc._core._get_simd_level()
    fastconc._core._set_simd_level(request.param)
    try:
        yield request.param
    finally:
        fastconc._core._set_simd_level(old)


@pytest.fixture
def simd_portable():
    """Pin the portable kernels (slow, for tests that need long calls)."""
    old = fastconc._core._get_simd_level()
    fastconc._core._set_simd_level("portable")
    try:
        yield
    finally:
        fastconc._core._set_simd_level(old)


# --- Ctrl-C ------------------------------------------------------------------

_CTRL_C_SCRIPT = '''\
import json, os, signal, sys, threading, time
sys.path.insert(0, {tests!r})
import fastconc
{portable}
{setup}

def work():
{call}

result = {{}}
delay = {delay!r}
{full}
fired = [None]

def fire():
    fired[0] = time.perf_counter()
    os.kill(os.getpid(), signal.SIGINT)

timer = threading.Timer(delay, fire)
timer.start()
t0 = time.perf_counter()
try:
    work()
    result["interrupted"] = False
except KeyboardInterrupt:
    now = time.perf_counter()
    result["interrupted"] = True
    result["took"] = now - t0
    result["latency"] = now - fired[0]
timer.cancel()
{idle}
{after}
result["after"] = "ok"
print("CTRL-C " + json.dumps(result), flush=True)
os._exit(0)     # queued work of an interrupted executor must not be waited for
'''

_FULL = '''\
t0 = time.perf_counter()
{full_call}
result["full"] = time.perf_counter() - t0
delay = result["full"] * {share!r}
'''

# No thread may still run our code after the interrupt: the process must
# go quiet (CPU time over wall time, in a window after the call).
_IDLE = '''\
time.sleep(0.2)
cpu0, w0 = time.process_time(), time.perf_counter()
time.sleep(0.5)
result["busy"] = (time.process_time() - cpu0) / (time.perf_counter() - w0)
'''


def _block(code: str, indent: str = "") -> str:
    return textwrap.indent(textwrap.dedent(code).strip(), indent)


@pytest.fixture(params=["unit", pytest.param("timing",
                                             marks=pytest.mark.timing)])
def ctrl_c(request: Any, tmp_path: Any) -> Callable[..., dict[str, Any]]:
    """Run a long call in a fresh interpreter, send it SIGINT, and check
    that it ends with KeyboardInterrupt and that what follows still works.

    ``ctrl_c(call, setup=, after=, ...)`` writes a script: ``setup``, then
    ``call`` (statements, run as the body of ``work()``) while a timer sends
    SIGINT after ``delay`` seconds, then ``after`` (statements that check
    the module, the pool or the object still work: any exception fails the
    test).  The script runs from the repository root with ``tests/`` on
    sys.path (``__file__`` is the script).  Options:

    - ``delay_share``: first run ``full_call`` (default: ``call``)
      uninterrupted, and send SIGINT at that share of its length;
      ``result["full"]`` is the length;
    - ``portable``: the portable kernels (slow, for long calls);
    - ``check_idle``: after the interrupt the process uses < 20 % of a CPU
      (no thread is left running our code);
    - ``max_latency``: seconds from SIGINT to KeyboardInterrupt.  A wall-
      clock bound, so only checked by the fixture's ``timing`` variant
      (``make timing``); the unit variant checks everything else.

    Returns the script's ``result`` dict: ``interrupted``, ``took``
    (seconds from the call's start to KeyboardInterrupt), ``latency``,
    ``full``, ``busy`` and whatever ``after`` stored in it.
    """
    timed = request.param == "timing"

    def run(call: str, *, setup: str = "", after: str = "",
            delay: float = 0.5, delay_share: float | None = None,
            full_call: str | None = None, portable: bool = False,
            check_idle: bool = False, max_latency: float | None = None,
            timeout: float = 100) -> dict[str, Any]:
        if timed and max_latency is None:
            pytest.skip("no wall-clock bound to check")
        full = ""
        if delay_share is not None:
            full = _FULL.format(full_call=_block(full_call or "work()"),
                                share=delay_share)
        script = tmp_path / "ctrl_c.py"
        script.write_text(_CTRL_C_SCRIPT.format(
            tests=os.path.join(ROOT, "tests"),
            portable=('fastconc._core._set_simd_level("portable")'
                      if portable else ""),
            setup=_block(setup), call=_block(call, "    "), delay=delay,
            full=full, idle=_IDLE if check_idle else "",
            after=_block(after)))
        env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep
                   + os.environ.get("PYTHONPATH", ""))
        proc = subprocess.run([sys.executable, str(script)], cwd=ROOT,
                              env=env, capture_output=True, text=True,
                              timeout=timeout, check=False)
        assert proc.returncode == 0, proc.stderr[-3000:]
        lines = [ln for ln in proc.stdout.splitlines()
                 if ln.startswith("CTRL-C ")]
        assert lines, proc.stdout[-3000:]
        result: dict[str, Any] = json.loads(lines[-1][len("CTRL-C "):])
        assert result["interrupted"], \
            f"the call ended before SIGINT: {result}"
        assert result["after"] == "ok"
        if check_idle:
            assert result["busy"] < 0.2, \
                f"threads still busy after Ctrl-C: {result}"
        if timed and max_latency is not None:
            assert result["latency"] < max_latency, result
        return result

    return run
