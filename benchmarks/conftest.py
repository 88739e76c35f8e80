"""pytest-benchmark suites for fastconc's kernels.

Run with ``pytest benchmarks --benchmark-only`` (see README.md here).
Files named ``bench_*.py`` are collected as test modules.  The data are
built as in ``fastconc bench``: a corpus of this machine's files for the
codecs and ``os.urandom`` for hashes and checksums, never a repeated
string.
"""
from __future__ import annotations

import os

import pytest

from fastconc.bench.corpus import build_corpus, chunks

MiB = 1 << 20


def pytest_collect_file(file_path, parent):  # type: ignore[no-untyped-def]
    if file_path.suffix == ".py" and file_path.name.startswith("bench_"):
        return pytest.Module.from_parent(parent, path=file_path)
    return None


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
