"""lz4 frames carry checksums on every path, and every decoder checks them:
one-shot compress() writes the content checksum and a checksum per block
(its frames are independent blocks that decode in parallel), streams the
content checksum, as the lz4 command does.  A flipped bit is an error on
every path, never wrong bytes."""
import io
import os
import shutil
import subprocess

import pytest
from codec_data import corpus

import fastconc

lz4frame = pytest.importorskip("lz4.frame")
xxhash = pytest.importorskip("xxhash")

FLG_BLOCK_SUM = 0x10
FLG_CONTENT_SUM = 0x04
MiB = 1 << 20


def _decoders():
    def stream(b):
        d = fastconc.Decompressor("lz4")
        out = d.decompress(b)
        assert d.eof
        return out

    def via_open(b):
        with fastconc.open(io.BytesIO(b), "rb", codec="lz4") as f:
            return f.read()

    return {
        "oneshot": lambda b: fastconc.decompress(b, "lz4"),
        "pieces": lambda b: fastconc.decompress(b, threads=2),
        "batch": lambda b: fastconc.decompress_many([b])[0],
        "stream": stream,
        "open": via_open,
    }


def _le32(b, pos):
    return int.from_bytes(b[pos:pos + 4], "little")


def _blocks(frame):
    """(offset of the size word, stored size) of each block of a frame
    with a 15-byte header (content size present)."""
    flg = frame[4]
    pos, out = 15, []
    while True:
        w = _le32(frame, pos)
        if w == 0:
            return out
        size = w & 0x7FFFFFFF
        out.append((pos, size))
        pos += 4 + size + (4 if flg & FLG_BLOCK_SUM else 0)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("size", [0, 1, 1000, MiB, 9 * MiB + 7])
def test_every_compress_path_writes_checksums(threads, size):
    data = corpus(size)
    frames = [fastconc.compress(data, "lz4", threads=threads),
              fastconc.compress_many([data], "lz4", threads=threads)[0]]
    for frame in frames:
        assert frame[4] & FLG_CONTENT_SUM and frame[4] & FLG_BLOCK_SUM
        # The content checksum is XXH32 of the data, right after the end
        # mark; each block's is XXH32 of the block as stored.
        assert _le32(frame, len(frame) - 4) == xxhash.xxh32_intdigest(data)
        for pos, n in _blocks(frame):
            body = frame[pos + 4:pos + 4 + n]
            assert _le32(frame, pos + 4 + n) == xxhash.xxh32_intdigest(body)
        assert lz4frame.decompress(frame) == data
        for name, dec in _decoders().items():
            assert dec(frame) == data, name
    c = fastconc.Compressor("lz4")
    stream = c.compress(data) + c.flush()
    assert stream[4] & FLG_CONTENT_SUM
    assert fastconc.decompress(stream) == data


@pytest.mark.parametrize("kind", ["random", "corpus"])
def test_flipped_bit_is_an_error_everywhere(kind):
    # Random data makes stored blocks, where a flipped bit used to decode
    # to wrong bytes without a word; the corpus makes compressed blocks.
    data = os.urandom(MiB) if kind == "random" else corpus(MiB)
    frame = fastconc.compress(data, "lz4")
    for pos in (len(frame) // 2, len(frame) // 3, 40):
        bad = bytearray(frame)
        bad[pos] ^= 0x10
        bad = bytes(bad)
        for name, dec in _decoders().items():
            with pytest.raises(fastconc.DecompressionError,
                               match="lz4: .*offset") as info:
                dec(bad)
            assert ("checksum" in str(info.value).lower()
                    or kind == "corpus"), name
        with pytest.raises(RuntimeError):
            lz4frame.decompress(bad)
        if shutil.which("lz4"):
            p = subprocess.run(["lz4", "-dc"], input=bad,
                               capture_output=True)
            assert p.returncode != 0


def test_content_checksum_is_checked():
    # A bit flipped in a stored block whose block checksum is made to match:
    # only the content checksum tells.
    data = os.urandom(MiB)
    frame = bytearray(fastconc.compress(data, "lz4", threads=1))
    (pos, n), = _blocks(frame)
    assert _le32(frame, pos) & 0x80000000      # stored
    frame[pos + 4 + n // 2] ^= 1
    body = bytes(frame[pos + 4:pos + 4 + n])
    frame[pos + 4 + n:pos + 8 + n] = xxhash.xxh32_intdigest(body).to_bytes(
        4, "little")
    bad = bytes(frame)
    for name, dec in _decoders().items():
        with pytest.raises(fastconc.DecompressionError,
                           match="(?i)checksum") as info:
            dec(bad)
        assert "lz4" in str(info.value), name
    with pytest.raises(RuntimeError):
        lz4frame.decompress(bad)


@pytest.mark.parametrize("block_checksum", [False, True])
@pytest.mark.parametrize("content_checksum", [False, True])
def test_peer_frames_with_and_without_checksums(block_checksum,
                                                content_checksum):
    data = corpus(5 * MiB)
    frame = lz4frame.compress(
        data, block_size=lz4frame.BLOCKSIZE_MAX4MB, block_linked=False,
        content_checksum=content_checksum, block_checksum=block_checksum,
        store_size=True)
    for name, dec in _decoders().items():
        assert dec(frame) == data, name
    if block_checksum:
        (pos, n), _ = _blocks(frame)
        bad = bytearray(frame)
        bad[pos + 4 + n // 2] ^= 4
        for dec in _decoders().values():
            with pytest.raises(fastconc.DecompressionError):
                dec(bytes(bad))


@pytest.mark.skipif(shutil.which("lz4") is None, reason="no lz4 command")
def test_lz4_command_checks_our_checksums(tmp_path):
    data = corpus(3 * MiB)
    path = tmp_path / "f.lz4"
    path.write_bytes(fastconc.compress(data, "lz4", threads=2))
    p = subprocess.run(["lz4", "-dc", str(path)], capture_output=True)
    assert p.returncode == 0 and p.stdout == data
    p = subprocess.run(["lz4", "-t", "-v", str(path)], capture_output=True,
                       text=True)
    assert p.returncode == 0
