"""fastconc: hashing, checksums, compression and native kernels outside the
GIL, on a pool of native threads; and a cheaper drop-in ThreadPoolExecutor.
"""
from __future__ import annotations

import sys
import types
from typing import TYPE_CHECKING

from . import _core
from ._core import (
    BadGzipFile,
    CorruptDeflateError,
    DecompressionError,
    Hash,
    OutputSizeError,
    TruncatedDeflateError,
    TruncatedError,
    XXHash,
    ZstdDict,
    __version__,
    adler32,
    adler32_combine,
    algorithms_available,
    blake2b,
    blake2s,
    blake3,
    codecs_available,
    compress,
    compress_into,
    compress_many,
    crc32,
    crc32_combine,
    crc32c,
    crc32c_combine,
    decompress,
    decompress_into,
    decompress_many,
    digest,
    get_threads,
    hash_file,
    hash_many,
    info,
    md5,
    new,
    set_threads,
    sha1,
    sha3_256,
    sha3_512,
    sha224,
    sha256,
    sha384,
    sha512,
    train_zstd_dict,
    xxh3_64,
    xxh3_64_digest,
    xxh3_64_hexdigest,
    xxh3_64_intdigest,
    xxh3_128,
    xxh3_128_digest,
    xxh3_128_hexdigest,
    xxh3_128_intdigest,
    xxh32,
    xxh32_digest,
    xxh32_hexdigest,
    xxh32_intdigest,
    xxh64,
    xxh64_digest,
    xxh64_hexdigest,
    xxh64_intdigest,
    xxh128,
    xxh128_digest,
    xxh128_hexdigest,
    xxh128_intdigest,
)
from ._hashfiles import hash_files
from ._pmap import map_array, parallel_map
from ._submit import submit
from .executor import ThreadPoolExecutor

if TYPE_CHECKING:
    from . import aio as aio

__all__ = [
    "GIL_THRESHOLD",
    "BadGzipFile",
    "CorruptDeflateError",
    "DecompressionError",
    "OutputSizeError",
    "TruncatedDeflateError",
    "TruncatedError",
    "__version__",
    "adler32",
    "adler32_combine",
    "blake3",
    "codecs_available",
    "compress",
    "compress_into",
    "compress_many",
    "crc32",
    "crc32_combine",
    "crc32c",
    "crc32c_combine",
    "decompress",
    "decompress_into",
    "decompress_many",
    "get_threads",
    "info",
    "set_threads",
    "train_zstd_dict",
    "ZstdDict",
    # hashing
    "Hash",
    "XXHash",
    "algorithms_available",
    "blake2b",
    "blake2s",
    "digest",
    "hash_file",
    "hash_files",
    "hash_many",
    "md5",
    "new",
    "sha1",
    "sha224",
    "sha256",
    "sha384",
    "sha3_256",
    "sha3_512",
    "sha512",
    "xxh32",
    "xxh3_128",
    "xxh3_64",
    "xxh64",
    "xxh128",
    "xxh128_digest",
    "xxh128_hexdigest",
    "xxh128_intdigest",
    "xxh32_digest",
    "xxh32_hexdigest",
    "xxh32_intdigest",
    "xxh3_128_digest",
    "xxh3_128_hexdigest",
    "xxh3_128_intdigest",
    "xxh3_64_digest",
    "xxh3_64_hexdigest",
    "xxh3_64_intdigest",
    "xxh64_digest",
    "xxh64_hexdigest",
    "xxh64_intdigest",
    "ThreadPoolExecutor",
    "map_array",
    "parallel_map",
    # async and futures
    "aio",
    "submit",
]


class _FastconcModule(types.ModuleType):
    """Module class so that ``fastconc.GIL_THRESHOLD = n`` writes into C."""

    @property
    def GIL_THRESHOLD(self) -> int:  # noqa: N802 - public constant-like name
        """Inputs smaller than this many bytes (default 2048) keep the GIL
        when ``release_gil=None``; the fast kernels also keep it for calls
        expected to last less than about 10 µs (see the README)."""
        return _core._get_gil_threshold()

    @GIL_THRESHOLD.setter
    def GIL_THRESHOLD(self, value: int) -> None:  # noqa: N802
        _core._set_gil_threshold(value)

    def __getattr__(self, name: str) -> types.ModuleType:
        # fastconc.aio is imported on first use: it imports asyncio.
        if name == "aio":
            import importlib

            return importlib.import_module(".aio", __name__)
        raise AttributeError(f"module {__name__!r} has no attribute "
                             f"{name!r}")


sys.modules[__name__].__class__ = _FastconcModule

# --- streaming compression (stream.c, _open.py) ------------------------------
from ._core import Compressor, Decompressor  # noqa: E402
from ._open import CompressedFile, open  # noqa: E402,A001

__all__ += ["CompressedFile", "Compressor", "Decompressor", "open"]
