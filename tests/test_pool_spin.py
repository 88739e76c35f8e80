"""The pool's waiters spin for FASTCONC_SPIN_US microseconds before they
sleep (see src/core/pool.c): results are the same whatever the setting, calls in
quick succession and from many threads stay correct, and an idle process
stops spinning (it does not burn a CPU between calls).  Whether the spin
saves context switches depends on the scheduler of the moment: those
counts are ``timing`` tests (``make timing``)."""
import os
import subprocess
import sys
import textwrap
import zlib

import pytest

CODE = textwrap.dedent("""
    import os, resource, sys, threading, time, zlib
    import fastconc
    data = [os.urandom(n) for n in (1, 4095, 1 << 16, (1 << 20) + 3)]
    want = [zlib.crc32(d) for d in data]
    # back-to-back calls: the helper is usually still spinning
    for _ in range(300):
        for d, w in zip(data, want):
            assert fastconc.crc32(d, threads=2) == w
            assert fastconc.adler32(d, threads=4) == zlib.adler32(d)
    # several callers at once, more threads than CPUs
    errors = []
    def caller():
        for _ in range(50):
            for d, w in zip(data, want):
                if fastconc.crc32(d, threads=3) != w:
                    errors.append(len(d))
    ts = [threading.Thread(target=caller) for _ in range(6)]
    for t in ts: t.start()
    for t in ts: t.join()
    assert not errors, errors
    # idle: the workers have gone to sleep, the process uses no CPU
    time.sleep(0.2)
    u0, w0 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    time.sleep(1.0)
    u1, w1 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    busy = (u1.ru_utime - u0.ru_utime) + (u1.ru_stime - u0.ru_stime)
    print("idle cpu share", busy / (w1 - w0))
""")


@pytest.mark.timeout(120)
@pytest.mark.parametrize("spin", ["0", "100", "5000", "bogus"])
def test_spin_setting(spin):
    env = dict(os.environ, FASTCONC_SPIN_US=spin)
    out = subprocess.run([sys.executable, "-c", CODE], env=env,
                         capture_output=True, text=True, timeout=100)
    assert out.returncode == 0, out.stderr
    share = float(out.stdout.split()[-1])
    assert share < 0.2, out.stdout       # not spinning while idle


def test_spin_after_fork():
    """A child forked while the parent's helper may be spinning has a
    fresh pool and no spinner count left over from the parent."""
    data = os.urandom(3 << 20)
    import fastconc
    assert fastconc.crc32(data, threads=2) == zlib.crc32(data)
    pid = os.fork()
    if pid == 0:
        ok = all(fastconc.crc32(data, threads=2) == zlib.crc32(data)
                 for _ in range(200))
        os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0


SWITCHES = textwrap.dedent("""
    import os, sys
    if len(sys.argv) > 1:                  # pin to one CPU before the pool
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    import fastconc
    from fastconc.bench.timing import voluntary_switches
    d = os.urandom(2 << 20)
    fastconc.crc32c(d, threads=2)          # the helper exists
    before = voluntary_switches()
    for _ in range(1000):
        fastconc.crc32c(d, threads=2)
    print(voluntary_switches() - before)
""")


@pytest.mark.timing
@pytest.mark.skipif(not os.path.exists("/proc/self/task"),
                    reason="needs Linux /proc")
@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="needs 2 CPUs")
def test_back_to_back_calls_do_not_sleep():
    """With the spin, neither the helper nor the caller blocks between
    back-to-back calls; without it, both do on almost every call."""
    asleep = _switches("0")
    spinning = _switches("2000")
    assert asleep > 500, asleep            # ~2 per call
    assert spinning < asleep / 4, (spinning, asleep)


def _switches(spin, *args):
    env = dict(os.environ, FASTCONC_SPIN_US=spin)
    out = subprocess.run([sys.executable, "-c", SWITCHES, *args], env=env,
                         capture_output=True, text=True, timeout=100)
    assert out.returncode == 0, out.stderr
    return int(out.stdout)


@pytest.mark.timing
@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"),
                    reason="needs sched_setaffinity")
def test_no_spin_on_one_cpu():
    """A process allowed one CPU does not spin (a spinning helper would
    take that CPU from the caller): it sleeps as with the spin off."""
    assert _switches("2000", "one-cpu") > 500
