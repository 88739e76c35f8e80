"""Property tests: round trips across codecs, levels, sizes up to 8 MiB and
threads 1..4, checked against a standard reader too."""
import os
import zlib

import pytest
from codec_data import corpus

import fastconc

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

settings.register_profile("default", max_examples=60, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("ci", max_examples=200, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

LEVELS = {"zlib": (0, 9), "deflate": (0, 9), "gzip": (0, 9),
          "zstd": (-3, 19), "lz4": (0, 12)}


@st.composite
def cases(draw):
    codec = draw(st.sampled_from(sorted(LEVELS)))
    lo, hi = LEVELS[codec]
    level = draw(st.integers(lo, hi))
    size = draw(st.one_of(st.integers(0, 5000),
                          st.integers(0, 8 << 20)))
    start = draw(st.integers(0, 1 << 20))
    threads = draw(st.integers(1, 4))
    return codec, level, size, start, threads


def reference_decode(codec, blob):
    if codec in ("zlib", "gzip"):
        d = zlib.decompressobj(15 if codec == "zlib" else 31)
        out = d.decompress(blob)
        while codec == "gzip" and d.unused_data:
            rest = d.unused_data
            d = zlib.decompressobj(31)
            out += d.decompress(rest)
        return out
    if codec == "deflate":
        return zlib.decompress(blob, -15)
    return None


@given(cases(), st.binary(max_size=300))
def test_round_trip(case, noise):
    codec, level, size, start, threads = case
    if codec in ("zlib", "deflate") and level >= 4 and size > (2 << 20):
        size = 2 << 20          # zlib's slow levels: keep the test quick
    if codec in ("lz4",) and level >= 9 or codec == "zstd" and level >= 16:
        size = min(size, 1 << 20)
    data = (noise + corpus(9 << 20)[start:start + size])[:size]
    comp = fastconc.compress(data, codec, level, threads=threads)
    assert fastconc.decompress(comp, codec, threads=threads) == data
    ref = reference_decode(codec, comp)
    if ref is not None:
        assert ref == data
    [again] = fastconc.decompress_many([comp], codec)
    assert again == data
