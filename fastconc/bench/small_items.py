"""Small items: per-call overhead for 64 B and 4 KiB items.

With tiny items the work is dominated by what each call costs (argument
parsing, object creation, the GIL hand-off).  fastconc's batch functions
(``hash_many``, ``compress_many``) take the whole list in one call and run
the loop in C across the pool with the GIL released once.

Each row is a :class:`SmallImpl`; the rows of one group are measured
together, interleaved, on the same items.
"""
from __future__ import annotations

import concurrent.futures
import hashlib
import importlib
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import fastconc

from .context import Bench
from .report import Column, fmt_x, table
from .timing import Contender, fmt_time, measure

SIZES = (64, 4096)
Items = list[bytes]


@dataclass
class SmallImpl:
    """One row: ``make(items)`` is the call that processes all ``items``."""
    kernel: str
    label: str
    make: Callable[[Items], Callable[[], object]]
    # which items: "all", "tenth" (compression costs ~100x a hash per byte:
    # a tenth of them, at least 1000) or "executor" (the stdlib executor's
    # own, smaller count)
    items: str = "all"
    # measured with the rows of this group ("": the kernel's)
    group: str = ""
    # the ratio column is against this row of the kernel ("": the group's
    # first row)
    baseline: str = ""


def _module(name: str) -> Any:
    try:
        return importlib.import_module(name)
    except ImportError:  # a missing peer is left out, never faked
        return None


def impls(nthreads: int) -> list[SmallImpl]:
    """Every row this machine can run; the first row of a group is its
    baseline."""
    digest = getattr(fastconc, "digest", None)
    hash_many = getattr(fastconc, "hash_many", None)
    compress_many = getattr(fastconc, "compress_many", None)
    xxhash = _module("xxhash")
    zstandard = _module("zstandard")
    crc = fastconc.crc32
    rows = [SmallImpl("sha256", "hashlib.sha256 loop",
                      lambda it: lambda: [hashlib.sha256(x).digest()
                                          for x in it])]
    if digest is not None:
        rows.append(SmallImpl("sha256", "fastconc.digest loop",
                              lambda it: lambda: [digest("sha256", x)
                                                  for x in it]))
    if hash_many is not None:
        rows.append(SmallImpl("sha256", "fastconc.hash_many",
                              lambda it: lambda: hash_many("sha256", it)))
    if xxhash is not None:
        rows.append(SmallImpl("xxh3_64", "xxhash.xxh3_64_digest loop",
                              lambda it: lambda: [xxhash.xxh3_64_digest(x)
                                                  for x in it]))
    if digest is not None:
        rows.append(SmallImpl("xxh3_64", "fastconc.digest loop",
                              lambda it: lambda: [digest("xxh3_64", x)
                                                  for x in it]))
    if hash_many is not None:
        rows.append(SmallImpl("xxh3_64", "fastconc.hash_many",
                              lambda it: lambda: hash_many("xxh3_64", it)))
    rows += [
        SmallImpl("crc32", "zlib.crc32 loop",
                  lambda it: lambda: [zlib.crc32(x) for x in it]),
        SmallImpl("crc32", "fastconc.crc32 loop",
                  lambda it: lambda: [crc(x) for x in it]),
    ]
    if zstandard is not None:
        zc = zstandard.ZstdCompressor(level=3)
        rows.append(SmallImpl("zstd-3 compress", "zstandard loop",
                              lambda it: lambda: [zc.compress(x) for x in it],
                              items="tenth"))
    if compress_many is not None:
        rows.append(SmallImpl("zstd-3 compress", "fastconc.compress_many",
                              lambda it: lambda: compress_many(it, "zstd", 3),
                              items="tenth"))

    def tpe(it: Items) -> Callable[[], object]:
        def run() -> object:
            with concurrent.futures.ThreadPoolExecutor(nthreads) as ex:
                return list(ex.map(lambda x: hashlib.sha256(x).digest(), it))
        return run

    # the stdlib executor is so slow per item that it runs on fewer items;
    # its cost is reported per item like the others
    rows.append(SmallImpl("sha256",
                          "hashlib.sha256 via stdlib ThreadPoolExecutor.map",
                          tpe, items="executor", group="executor",
                          baseline="hashlib.sha256 loop"))
    return rows


def make_items(corpus: bytes, size: int, count: int) -> list[bytes]:
    """``count`` distinct slices of the corpus (wrapping if needed)."""
    step = size + 7  # overlap-free, never aligned the same way twice
    n = max(1, (len(corpus) - size) // step)
    return [corpus[(i % n) * step:(i % n) * step + size] for i in range(count)]


def measure_size(rows: list[SmallImpl], items: Items, tpe_count: int,
                 repeat: int, tick: Callable[[], None] | None = None
                 ) -> list[dict[str, Any]]:
    """The table rows of one item size."""
    size = len(items[0]) if items else 0
    chosen = {"all": items, "tenth": items[:max(1000, len(items) // 10)],
              "executor": items[:tpe_count]}
    groups: dict[str, list[SmallImpl]] = {}
    for r in rows:
        groups.setdefault(r.group or r.kernel, []).append(r)
    out: list[dict[str, Any]] = []
    for group in groups.values():
        res = measure([Contender(r.label, r.make(chosen[r.items]),
                                 meta={"kernel": r.kernel, "impl": r.label})
                       for r in group], repeat, tick=tick)
        for r in group:
            s, n = res[r.label], len(chosen[r.items])
            out.append({"kernel": r.kernel, "item_bytes": size, "items": n,
                        "impl": r.label, "timing": s.as_json(),
                        "ns_per_item": s.best / n * 1e9, "vs_baseline": None})
    by_label = {(row["kernel"], row["impl"]): row for row in out}
    for group in groups.values():
        for r in group:
            row = by_label[r.kernel, r.label]
            base = by_label[r.kernel, r.baseline or group[0].label]
            row["vs_baseline"] = base["ns_per_item"] / row["ns_per_item"]
    return out


# --- the Markdown table --------------------------------------------------------

def _size(r: dict[str, Any]) -> str:
    n = r["item_bytes"]
    return f"{n // 1024} KiB" if n >= 1024 else f"{n} B"


def markdown(rows: list[dict[str, Any]]) -> str:
    return table([
        Column("kernel", "l", lambda r: r["kernel"], group=True),
        Column("item size", "l", _size, group=True),
        Column("implementation", "l", lambda r: r["impl"]),
        Column("per item", "r", lambda r: fmt_time(r["ns_per_item"] / 1e9)),
        Column("speed vs first row", "r", lambda r: fmt_x(r["vs_baseline"])),
    ], rows)


# --- the section -------------------------------------------------------------

def units(b: Bench) -> int:
    return len(SIZES)


def section(b: Bench) -> None:
    rows = impls(b.nthreads)
    out: list[dict[str, Any]] = []
    for size in SIZES:
        with b.step(f"small items: {size} B"):
            out += measure_size(rows, make_items(b.corpus, size, b.n_items),
                                b.n_tpe, b.repeat)
    b.results["small_items"] = out
    b.emit(f"## Small items: {b.n_items:,} items of 64 B and 4 KiB")
    b.emit()
    b.emit("Per-call overhead dominates. Batch functions take the whole"
           " list in one call. The stdlib executor row ran on "
           f"{b.n_tpe:,} items, the compression rows on a tenth of the "
           "items (per-item costs stay comparable). Ratios: against "
           "the first row of each kernel; the executor row against the "
           "hashlib loop.")
    b.emit()
    b.emit(markdown(out))
    b.emit()
