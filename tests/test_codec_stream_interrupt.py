"""Ctrl-C during one long Compressor.compress / Decompressor.decompress
call: KeyboardInterrupt comes well before the call would have finished, the
interrupted object refuses further use (its output is incomplete), and new
objects work."""
import pytest

SETUP = """
from test_codec_stream import sample

kind, codec, level = {kind!r}, {codec!r}, {level!r}
data = sample(6 << 20, 1)
if kind == "compress":
    make = lambda: fastconc.Compressor(codec, level)
    run = lambda obj: obj.compress(data)
else:
    c = fastconc.Compressor(codec, level)
    blob = c.compress(bytes(512 << 20)) + c.flush()
    make = lambda: fastconc.Decompressor(codec)
    run = lambda obj: obj.decompress(blob)
obj = make()
"""

AFTER = """
try:
    run(obj)
except ValueError as exc:
    assert "earlier error" in str(exc)
else:
    raise SystemExit("interrupted object still usable")
c = fastconc.Compressor(codec)
blob = c.compress(b"ok" * 1000) + c.flush()
assert fastconc.Decompressor(codec).decompress(blob) == b"ok" * 1000
"""


@pytest.mark.slow
@pytest.mark.timeout(300)
@pytest.mark.parametrize("kind,codec,level", [
    ("compress", "zstd", 19), ("compress", "gzip", 9),
    ("compress", "lz4", 12), ("decompress", "zlib", 1),
    ("decompress", "zstd", 1)])
def test_ctrl_c(kind, codec, level, ctrl_c):
    # SIGINT a tenth of the way into the call, whose length is measured
    # first on another object.
    r = ctrl_c("run(obj)", setup=SETUP.format(kind=kind, codec=codec,
                                              level=level),
               full_call="run(make())", delay_share=0.1, after=AFTER,
               timeout=280)
    assert r["took"] < r["full"] * 0.6, r
