"""The reprs of Compressor, Decompressor and ThreadPoolExecutor show what
a reader of a log or a debugger needs: codec, level, threads, state."""
import re
import threading
from concurrent.futures.thread import BrokenThreadPool

import pytest

import fastconc


@pytest.mark.parametrize("codec, level, shown", [
    ("zstd", 5, 5), ("zstd", None, 3), ("gzip", None, 6), ("zlib", -1, 6),
    ("lz4", 1, 1), ("deflate", 9, 9)])
def test_compressor(codec, level, shown):
    c = fastconc.Compressor(codec, level)
    assert repr(c) == (f"<fastconc.Compressor codec='{codec}' level={shown} "
                       f"threads=1 active>")
    c.compress(b"abc" * 1000)
    assert repr(c).endswith(" active>")
    c.flush()
    assert repr(c) == (f"<fastconc.Compressor codec='{codec}' level={shown} "
                       f"threads=1 finished>")


def test_compressor_threads_and_dict():
    c = fastconc.Compressor("zstd", 7, threads=2)
    assert repr(c) == ("<fastconc.Compressor codec='zstd' level=7 "
                       "threads=2 active>")
    d = fastconc.ZstdDict(b"some raw dictionary content " * 10, is_raw=True)
    c = fastconc.Compressor("zstd", zstd_dict=d)
    assert f"zstd_dict={d.dict_id} " in repr(c)
    assert f"zstd_dict={d.dict_id} " in repr(
        fastconc.Decompressor("zstd", zstd_dict=d))


def test_decompressor_states():
    d = fastconc.Decompressor()
    assert repr(d) == ("<fastconc.Decompressor codec=None "
                       "max_output_size=None in=0 out=0 active>")
    packed = fastconc.compress(b"x" * 5000, "gzip")
    d.decompress(packed[:10])
    assert repr(d).startswith("<fastconc.Decompressor codec='gzip' ")
    d.decompress(packed[10:])
    assert repr(d) == (f"<fastconc.Decompressor codec='gzip' "
                       f"max_output_size=None in={len(packed)} out=5000 eof>")
    d = fastconc.Decompressor("zlib", max_output_size=100)
    bad = bytearray(fastconc.compress(bytes(range(256)) * 40, "zlib"))
    bad[len(bad) // 2] ^= 0xFF
    bad[-1] ^= 0xFF
    with pytest.raises(fastconc.DecompressionError):
        d.decompress(bytes(bad))
        d.decompress(b"")
    assert re.fullmatch(r"<fastconc.Decompressor codec='zlib' "
                        r"max_output_size=100 in=\d+ out=\d+ broken>",
                        repr(d)), repr(d)


def test_executor_states():
    ex = fastconc.ThreadPoolExecutor(3)
    assert repr(ex) == ("<fastconc.ThreadPoolExecutor max_workers=3 "
                        "threads=0 running>")
    assert ex.submit(pow, 2, 10).result() == 1024
    assert re.fullmatch(r"<fastconc.ThreadPoolExecutor max_workers=3 "
                        r"threads=[123] running>", repr(ex)), repr(ex)
    ex.shutdown()
    assert repr(ex).endswith(" shutdown>")

    def boom():
        raise RuntimeError("init")
    ex = fastconc.ThreadPoolExecutor(1, initializer=boom)
    fut = ex.submit(pow, 2, 2)
    with pytest.raises(BrokenThreadPool):
        fut.result(timeout=30)
    assert repr(ex).endswith(" broken>"), repr(ex)
    ex.shutdown()


def test_repr_while_another_thread_compresses():
    c = fastconc.Compressor("zstd", 19)
    data = bytes(range(256)) * 20000
    t = threading.Thread(target=c.compress, args=(data,))
    t.start()
    for _ in range(50):
        assert repr(c).startswith("<fastconc.Compressor codec='zstd' ")
    t.join()
