"""Ctrl-C during long compress/decompress calls: KeyboardInterrupt comes
well before the call would have finished, and the module still works."""
import textwrap

import pytest

SETUP = {
    "compress": """
        from codec_data import corpus
        data = corpus(12 << 20)
        run = lambda: fastconc.compress(data, "gzip", 9, threads=threads)
    """,
    "zstd-19": """
        from codec_data import corpus
        data = corpus(6 << 20)
        run = lambda: fastconc.compress(data, "zstd", 19, threads=threads)
    """,
    "decompress": """
        blob = fastconc.compress(bytes(1 << 30), "zlib", 1, threads=2)
        run = lambda: fastconc.decompress(blob, threads=threads)
    """,
}


@pytest.mark.slow
@pytest.mark.timeout(300)
@pytest.mark.parametrize("kind,threads", [("compress", 1), ("compress", 2),
                                          ("decompress", 1),
                                          ("decompress", 2), ("zstd-19", 1)])
def test_ctrl_c(kind, threads, ctrl_c):
    # SIGINT a tenth of the way into the call (its length measured first).
    setup = f"threads = {threads}\n" + textwrap.dedent(SETUP[kind])
    r = ctrl_c("run()", setup=setup,
               delay_share=0.1, timeout=280, after="""
                   # Still usable afterwards.
                   assert fastconc.decompress(fastconc.compress(
                       b"ok" * 1000, "zstd", threads=2)) == b"ok" * 1000
               """)
    assert r["took"] < r["full"] * 0.6, r
