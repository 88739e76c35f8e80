"""More than 4 GiB through the streaming API, in chunks (memory stays small).

Checks that no length or counter is truncated to 32 bits: the data is
compressed piece by piece, each compressed piece is fed straight to a
Decompressor, and what comes out must be, byte for byte, what went in
(compared slice by slice against the known input rather than held), with
each whole piece's CRC-32 checked against zlib's.
"""
import zlib

import pytest
from test_codec_stream import corpus

from fastconc import Compressor, Decompressor

TOTAL = (4 << 30) + (64 << 20) + 12345     # past 2**32
PERIOD = 256 << 10                        # inside zstd -1's window
PIECE = 4 << 20


def make_pieces():
    """Eight different 4 MiB pieces of real text, each a 256 KiB slice of
    the stdlib's sources repeated (compressible, so the test is fast)."""
    text = corpus()
    step = (len(text) - PERIOD) // 8
    return [text[i * step:i * step + PERIOD] * (PIECE // PERIOD)
            for i in range(8)]


class Expected:
    """The input stream, piece k % 8 at each position, compared against
    without building it."""

    def __init__(self, pieces):
        self.pieces = pieces
        self.pos = 0

    def check(self, out):
        view = memoryview(out)
        while len(view):
            k, off = divmod(self.pos, PIECE)
            n = min(len(view), PIECE - off, TOTAL - self.pos)
            assert n > 0, "more output than input"
            if view[:n] != self.pieces[k % 8][off:off + n]:
                raise AssertionError(f"output differs near {self.pos}")
            view = view[n:]
            self.pos += n


@pytest.mark.bigmem
@pytest.mark.slow
@pytest.mark.timeout(300)
def test_stream_past_4gib():
    pieces = make_pieces()
    crcs = [zlib.crc32(p) for p in pieces]
    comp = Compressor("zstd", 1)
    dec = Decompressor("zstd")
    expected = Expected(pieces)
    sent = n_blob = k = 0
    while sent < TOTAL:
        piece = pieces[k % 8]
        if TOTAL - sent < PIECE:
            piece = piece[:TOTAL - sent]
        blob = comp.compress(piece)
        sent += len(piece)
        k += 1
        n_blob += len(blob)
        out = dec.decompress(blob)
        start = expected.pos
        expected.check(out)
        if start % PIECE == 0 and len(out) == PIECE:
            assert zlib.crc32(out) == crcs[(start // PIECE) % 8]
    blob = comp.flush()
    n_blob += len(blob)
    expected.check(dec.decompress(blob))
    assert dec.eof and dec.unused_data == b""
    assert sent == TOTAL and expected.pos == TOTAL
    assert n_blob < TOTAL // 10
