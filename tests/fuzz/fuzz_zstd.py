"""Fuzz fastconc's zstd decompressor (one-shot and streaming); see
_decompress.py for the modes and the rules."""
from __future__ import annotations

import _decompress
from _common import main, require

CODEC = "zstd"


def missing() -> list[str]:
    return _decompress.missing(CODEC)


def test_one_input(data: bytes) -> None:
    _decompress.test_one_input(CODEC, data)


def seeds() -> list[bytes]:
    return _decompress.seeds(CODEC)


if __name__ == "__main__":
    require(_decompress.fastconc, *missing())
    main(test_one_input, seeds)
