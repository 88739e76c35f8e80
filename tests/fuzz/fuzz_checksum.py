"""Fuzz crc32 / crc32c / adler32: random data, start value, thread count and
split into pieces (each piece chained), against zlib and the crc32c package;
the *_combine functions against the chained value."""
from __future__ import annotations

import zlib

from _common import Input, chunks, import_fastconc, main, require, split_points

fastconc = import_fastconc()
NAMES = ("crc32", "crc32c", "adler32")

try:
    import crc32c as _crc32c_pkg

    def _crc32c_ref(data: bytes, value: int = 0) -> int:
        return int(_crc32c_pkg.crc32c(data, value))
except ImportError:   # the check then covers chaining and combine only
    _crc32c_ref = None  # type: ignore[assignment]

# Known bug (regressions/checksum/adler32-empty-unreduced-start, xfail in
# tests/test_reliability_fuzz.py): adler32(b"", v) returns v as given while
# zlib reduces each half mod 65521 (zlib.adler32(b"", 0xffff) == 0xe).
# Set to False once fixed.
KNOWN_ADLER32_EMPTY_BUG = True

REFS = {"crc32": zlib.crc32, "adler32": zlib.adler32, "crc32c": _crc32c_ref}
START = {"crc32": 0, "crc32c": 0, "adler32": 1}


def missing() -> list[str]:
    """Names this harness needs that the build lacks."""
    return [n for n in (*NAMES, "crc32_combine", "adler32_combine",
                        "crc32c_combine") if not hasattr(fastconc, n)]


def test_one_input(data: bytes) -> None:
    inp = Input(data)
    name = str(inp.pick(NAMES))
    fn = getattr(fastconc, name)
    combine = getattr(fastconc, name + "_combine")
    threads = inp.below(9) or None
    release = inp.pick((None, True, False))
    value = inp.uint(4) if inp.flag() else START[name]
    grow = inp.flag()
    payload = inp.rest()
    if grow and payload:
        # Repeat a small input to ~300 KB so threads > 1 really splits it.
        payload = payload * (1 + 300_000 // len(payload))
    cuts = split_points(Input(payload[:16]), len(payload))
    whole = fn(payload, value, threads=threads, release_gil=release)
    ref = REFS[name]
    if KNOWN_ADLER32_EMPTY_BUG and name == "adler32" and not payload:
        return   # see KNOWN_ADLER32_EMPTY_BUG
    if ref is not None:
        assert whole == ref(payload, value), (name, len(payload), threads)
    chained = value
    for piece in chunks(payload, cuts):
        chained = fn(piece, chained, threads=threads)
    assert chained == whole, (name, cuts)
    # combine(value of A, value of B, len B) == value of A+B
    a, b = payload[:cuts[1]], payload[cuts[1]:]
    got = combine(fn(a, value), fn(b, START[name]), len(b))
    assert got == whole, (name, len(a), len(b))


def seeds() -> list[bytes]:
    out = []
    for i in range(len(NAMES)):
        for threads in (1, 2, 4):
            out.append(bytes([i, threads, 0, 0, 1]) + bytes(range(256)) * 4)
    return out


if __name__ == "__main__":
    require(fastconc, *NAMES, "crc32_combine", "crc32c_combine", "adler32_combine")
    main(test_one_input, seeds)
