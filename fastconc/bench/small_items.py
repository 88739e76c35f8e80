"""Small items: per-call overhead for 64 B and 4 KiB items.

With tiny items the work is dominated by what each call costs (argument
parsing, object creation, the GIL hand-off).  fastconc's batch functions
(``hash_many``, ``compress_many``) take the whole list in one call and run
the loop in C across the pool with the GIL released once.
"""
from __future__ import annotations

import concurrent.futures
import hashlib
import zlib
from collections.abc import Callable
from typing import Any

import fastconc

from .timing import interleaved


def make_items(corpus: bytes, size: int, count: int) -> list[bytes]:
    """``count`` distinct slices of the corpus (wrapping if needed)."""
    step = size + 7  # overlap-free, never aligned the same way twice
    n = max(1, (len(corpus) - size) // step)
    return [corpus[(i % n) * step:(i % n) * step + size] for i in range(count)]


def contenders(items: list[bytes], counts: dict[str, int]
               ) -> dict[str, dict[str, Callable[[], object]]]:
    """kernel -> {label: callable}; the first label is the baseline.
    ``counts`` gets the number of items of a group that uses fewer."""
    out: dict[str, dict[str, Callable[[], object]]] = {}
    digest = getattr(fastconc, "digest", None)
    hash_many = getattr(fastconc, "hash_many", None)

    sha: dict[str, Callable[[], object]] = {"hashlib.sha256 loop":
           lambda: [hashlib.sha256(x).digest() for x in items]}
    if digest is not None:
        sha["fastconc.digest loop"] = (
            lambda: [digest("sha256", x) for x in items])
    if hash_many is not None:
        sha["fastconc.hash_many"] = lambda: hash_many("sha256", items)
    out["sha256"] = sha

    try:
        import xxhash
    except ImportError:
        xxhash = None  # type: ignore[assignment]
    xx: dict[str, Callable[[], object]] = {}
    if xxhash is not None:
        xx["xxhash.xxh3_64_digest loop"] = (
            lambda: [xxhash.xxh3_64_digest(x) for x in items])
    if digest is not None:
        xx["fastconc.digest loop"] = (
            lambda: [digest("xxh3_64", x) for x in items])
    if hash_many is not None:
        xx["fastconc.hash_many"] = lambda: hash_many("xxh3_64", items)
    if xx:
        out["xxh3_64"] = xx

    crc = fastconc.crc32
    out["crc32"] = {
        "zlib.crc32 loop": lambda: [zlib.crc32(x) for x in items],
        "fastconc.crc32 loop": lambda: [crc(x) for x in items],
    }
    compress_many = getattr(fastconc, "compress_many", None)
    try:
        import zstandard
    except ImportError:
        zstandard = None  # type: ignore[assignment]
    # compression costs ~100x a hash per byte: a tenth of the items
    few = items[:max(1000, len(items) // 10)]
    zs: dict[str, Callable[[], object]] = {}
    if zstandard is not None:
        zc = zstandard.ZstdCompressor(level=3)
        zs["zstandard loop"] = lambda: [zc.compress(x) for x in few]
    if compress_many is not None:
        zs["fastconc.compress_many"] = (
            lambda: compress_many(few, "zstd", 3))
    if zs:
        out["zstd-3 compress"] = zs
        counts["zstd-3 compress"] = len(few)
    return out


def tpe_baseline(items: list[bytes], nthreads: int) -> Callable[[], object]:
    """hashlib.sha256 through the stdlib ThreadPoolExecutor.map."""
    def run() -> object:
        with concurrent.futures.ThreadPoolExecutor(nthreads) as ex:
            return list(ex.map(lambda x: hashlib.sha256(x).digest(), items))
    return run


def measure(corpus: bytes, sizes: list[int], count: int, tpe_count: int,
            nthreads: int, repeat: int,
            tick: Callable[[], None] | None = None) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for size in sizes:
        items = make_items(corpus, size, count)
        tpe_items = items[:tpe_count]
        counts: dict[str, int] = {}
        groups = contenders(items, counts)
        for kernel, group in groups.items():
            res = interleaved(group, repeat, tick)
            base = next(iter(res.values())).best
            n = counts.get(kernel, count)
            for label, s in res.items():
                rows.append({"kernel": kernel, "item_bytes": size,
                             "items": n, "impl": label,
                             "timing": s.as_json(),
                             "ns_per_item": s.best / n * 1e9,
                             "vs_baseline": base / s.best})
        # the stdlib executor is so slow per item that it runs on fewer
        # items; its cost is reported per item like the others
        res = interleaved({"tpe": tpe_baseline(tpe_items, nthreads)},
                          repeat, tick)
        s = res["tpe"]
        rows.append({"kernel": "sha256", "item_bytes": size,
                     "items": tpe_count,
                     "impl": "hashlib.sha256 via stdlib ThreadPoolExecutor.map",
                     "timing": s.as_json(),
                     "ns_per_item": s.best / tpe_count * 1e9,
                     "vs_baseline": None})
    # fill in the ratio of the executor row against the hashlib loop
    for size in sizes:
        ref = next(r for r in rows if r["item_bytes"] == size
                   and r["kernel"] == "sha256")
        for r in rows:
            if r["item_bytes"] == size and r["vs_baseline"] is None:
                r["vs_baseline"] = ref["ns_per_item"] / r["ns_per_item"]
    return rows
