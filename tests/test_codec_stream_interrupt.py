"""Ctrl-C during one long Compressor.compress / Decompressor.decompress
call: KeyboardInterrupt comes well before the call would have finished, the
interrupted object refuses further use (its output is incomplete), and new
objects work."""
import os
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent("""
    import os, signal, sys, threading, time
    sys.path.insert(0, "tests")
    import fastconc
    from test_codec_stream import sample

    kind, codec, level = sys.argv[1], sys.argv[2], int(sys.argv[3])
    data = sample(6 << 20, 1)
    if kind == "compress":
        make = lambda: fastconc.Compressor(codec, level)
        work = lambda obj: obj.compress(data)
    else:
        c = fastconc.Compressor(codec, level)
        blob = c.compress(bytes(512 << 20)) + c.flush()
        make = lambda: fastconc.Decompressor(codec)
        work = lambda obj: obj.decompress(blob)
    t0 = time.perf_counter(); work(make()); full = time.perf_counter() - t0
    obj = make()
    threading.Timer(full / 10,
                    lambda: os.kill(os.getpid(), signal.SIGINT)).start()
    t0 = time.perf_counter()
    try:
        work(obj)
    except KeyboardInterrupt:
        took = time.perf_counter() - t0
    else:
        raise SystemExit("not interrupted")
    try:
        work(obj)
    except ValueError as exc:
        assert "earlier error" in str(exc)
    else:
        raise SystemExit("interrupted object still usable")
    c = fastconc.Compressor(codec)
    blob = c.compress(b"ok" * 1000) + c.flush()
    assert fastconc.Decompressor(codec).decompress(blob) == b"ok" * 1000
    print(full, took)
""")


@pytest.mark.slow
@pytest.mark.timeout(300)
@pytest.mark.parametrize("kind,codec,level", [
    ("compress", "zstd", 19), ("compress", "gzip", 9),
    ("compress", "lz4", 12), ("decompress", "zlib", 1),
    ("decompress", "zstd", 1)])
def test_ctrl_c(kind, codec, level):
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = subprocess.run([sys.executable, "-c", SCRIPT, kind, codec,
                          str(level)], cwd=root, capture_output=True,
                         text=True, timeout=280, check=False)
    assert out.returncode == 0, out.stderr
    full, took = map(float, out.stdout.split())
    assert took < full * 0.6, (full, took)
