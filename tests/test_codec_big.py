"""Inputs over 4 GiB through the one-shot and batch API (no 32-bit
truncation of lengths, ISIZE or block counts)."""
import pytest

import fastconc

N = (4 << 30) + 12345


@pytest.fixture(scope="module")
def big():
    data = bytearray(N)          # zero pages until written
    for at in range(0, N, 256 << 20):
        data[at:at + 11] = b"marker%05d" % (at >> 20)
    data[-7:] = b"the end"
    return data


@pytest.mark.bigmem
@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.parametrize("codec,level", [("lz4", 0),
                                         ("gzip", 1)])
def test_over_4gib_round_trip(big, codec, level):
    comp = fastconc.compress(big, codec, level, threads=2)
    out = fastconc.decompress(comp, codec, threads=2)
    assert len(out) == N
    assert out == big
    del out
    with pytest.raises(fastconc.OutputSizeError):
        fastconc.decompress(comp, codec, max_output_size=N - 1)
