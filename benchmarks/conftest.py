"""pytest-benchmark suites for fastconc's kernels.

Run with ``pytest benchmarks --benchmark-only`` (see README.md here);
pyproject.toml has pytest collect ``bench_*.py`` files.  The data are
built as in ``fastconc bench``: a corpus of this machine's files for the
codecs and ``os.urandom`` for hashes and checksums, never a repeated
string.
"""
from __future__ import annotations

import os

import pytest

from fastconc.bench.corpus import build_corpus, chunks

MiB = 1 << 20


@pytest.fixture(scope="session")
def corpus_data() -> bytes:
    size = int(os.environ.get("FASTCONC_BENCH_SIZE", str(16 * MiB)))
    return build_corpus(size)[0]


@pytest.fixture(scope="session")
def random_data() -> bytes:
    size = int(os.environ.get("FASTCONC_BENCH_SIZE", str(16 * MiB)))
    return os.urandom(size)


@pytest.fixture(scope="session")
def corpus_chunks(corpus_data: bytes) -> list[bytes]:
    return chunks(corpus_data, MiB)


@pytest.fixture(scope="session")
def random_chunks(random_data: bytes) -> list[bytes]:
    return chunks(random_data, MiB)
