"""fastconc.submit and fastconc.aio across the process's life: a forked
child can use both; interpreter exit with calls still running (on the pool,
or awaited on a loop that is never closed) neither crashes nor hangs; the
pool is usable after its posted jobs drain.  Each case runs in a fresh
interpreter with a timeout."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_script(code: str, timeout: float = 120) -> tuple[str, float]:
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep
               + os.path.join(ROOT, "tests") + os.pathsep
               + os.environ.get("PYTHONPATH", ""))
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)],
                          cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)
    took = time.perf_counter() - t0
    assert proc.returncode == 0, (proc.returncode, proc.stdout[-2000:],
                                  proc.stderr[-3000:])
    return proc.stdout, took


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
@pytest.mark.timeout(300)
def test_child_after_fork_uses_submit_and_aio() -> None:
    out, _ = run_script("""
        import asyncio, os, warnings, zlib
        import fastconc, fastconc.aio as aio
        warnings.simplefilter("ignore", DeprecationWarning)
        data = os.urandom(5 << 20)
        fastconc._core._set_simd_level("portable")
        # The parent's pool threads are busy, and a loop has a waker.
        assert asyncio.run(aio.crc32(data)) == zlib.crc32(data)
        busy = fastconc.submit(fastconc.crc32, bytes(1 << 30), threads=2)
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                assert fastconc.submit(fastconc.crc32, data,
                                       threads=2).result(30) == zlib.crc32(data)
                assert fastconc.submit(fastconc.compress, b"x" * 1000
                                       ).result(30)
                async def main():
                    return await asyncio.gather(aio.crc32c(data, threads=2),
                                                aio.digest("sha256", data))
                c, d = asyncio.run(main())
                assert c == fastconc.crc32c(data)
                # the parent's call never runs here: cancel gives it up
                assert busy.cancel() and busy.cancelled()
                code = 0
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status
        assert busy.cancel()
        assert fastconc.submit(fastconc.adler32, data).result() \\
            == zlib.adler32(data)
        print("fork ok")
    """)
    assert "fork ok" in out


@pytest.mark.timeout(300)
@pytest.mark.parametrize("how", ["return", "sys.exit", "exception"])
def test_exit_with_calls_running(how: str) -> None:
    # Long calls in flight at exit: native jobs, generic ones holding a
    # Python thread state, awaited ones on a loop never closed.  The exit
    # hook cancels them; the process ends at once and cleanly.
    end = {"return": "pass", "sys.exit": "sys.exit(0)",
           "exception": "raise SystemExit(0)"}[how]
    out, took = run_script(f"""
        import asyncio, os, sys, time
        from codec_data import corpus
        import fastconc, fastconc.aio as aio
        fastconc._core._set_simd_level("portable")
        big = bytes(1 << 30)
        gz = corpus(32 << 20)
        futs = [fastconc.submit(fastconc.crc32, big, threads=2),
                fastconc.submit(fastconc.adler32, big, threads=1),
                fastconc.submit(fastconc.compress, gz, "gzip", 9, threads=1),
                fastconc.submit(fastconc.digest, "sha512", big)]
        done = []
        futs[0].add_done_callback(lambda f: done.append(f))
        loop = asyncio.new_event_loop()
        tasks = [loop.create_task(aio.crc32(big, threads=2)),
                 loop.create_task(aio.compress(gz, "gzip", 9))]
        loop.run_until_complete(asyncio.sleep(0.3))
        time.sleep(0.2)
        print("exiting", fastconc._core._jobs_live(), flush=True)
        {end}
    """)
    assert "exiting" in out
    # The calls would take many seconds; the exit must not wait for them
    # (the digest of 1 GiB in one piece is the slowest to notice).
    assert took < 60, took


@pytest.mark.timeout(300)
def test_exit_drain_then_no_new_jobs() -> None:
    out, _ = run_script("""
        import fastconc
        f = fastconc.submit(fastconc.crc32, bytes(1 << 20))
        f.result()
        fastconc._core._jobs_shutdown()     # what atexit runs
        g = fastconc.submit(fastconc.crc32, b"x")
        try:
            g.result()
        except RuntimeError as e:
            print("refused:", e)
    """)
    assert "refused: cannot run new calls" in out


@pytest.mark.timeout(300)
def test_exit_with_many_small_jobs_in_flight() -> None:
    out, took = run_script("""
        import asyncio, os
        import fastconc, fastconc.aio as aio
        data = os.urandom(1 << 16)
        futs = [fastconc.submit(fastconc.compress, data) for _ in range(2000)]
        futs += [fastconc.submit(fastconc.crc32c, data) for _ in range(2000)]
        loop = asyncio.new_event_loop()
        ts = [loop.create_task(aio.digest("sha256", data)) for _ in range(500)]
        loop.run_until_complete(asyncio.sleep(0.01))
        print("exiting", flush=True)
    """)
    assert "exiting" in out
