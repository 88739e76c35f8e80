"""Ctrl-C during long compress/decompress calls: KeyboardInterrupt comes
well before the call would have finished, and the module still works."""
import os
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent("""
    import os, signal, sys, threading, time
    sys.path.insert(0, "tests")
    import fastconc
    from codec_data import corpus

    kind, threads = sys.argv[1], int(sys.argv[2])
    if kind == "compress":
        data = corpus(12 << 20)
        work = lambda: fastconc.compress(data, "gzip", 9, threads=threads)
    elif kind == "zstd-19":
        data = corpus(6 << 20)
        work = lambda: fastconc.compress(data, "zstd", 19, threads=threads)
    else:
        blob = fastconc.compress(bytes(1 << 30), "zlib", 1, threads=2)
        work = lambda: fastconc.decompress(blob, threads=threads)
    t0 = time.perf_counter(); work(); full = time.perf_counter() - t0
    threading.Timer(full / 10,
                    lambda: os.kill(os.getpid(), signal.SIGINT)).start()
    t0 = time.perf_counter()
    try:
        work()
    except KeyboardInterrupt:
        took = time.perf_counter() - t0
    else:
        raise SystemExit("not interrupted")
    # Still usable afterwards.
    assert fastconc.decompress(fastconc.compress(b"ok" * 1000, "zstd",
                                                 threads=2)) == b"ok" * 1000
    print(full, took)
""")


@pytest.mark.slow
@pytest.mark.timeout(300)
@pytest.mark.parametrize("kind,threads", [("compress", 1), ("compress", 2),
                                          ("decompress", 1),
                                          ("decompress", 2), ("zstd-19", 1)])
def test_ctrl_c(kind, threads):
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = subprocess.run([sys.executable, "-c", SCRIPT, kind, str(threads)],
                         cwd=root, capture_output=True, text=True,
                         timeout=280, check=False)
    assert out.returncode == 0, out.stderr
    full, took = map(float, out.stdout.split())
    assert took < full * 0.6, (full, took)
