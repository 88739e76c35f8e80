"""Hash kernels for ``fastconc bench`` (and ``benchmarks/bench_hash.py``).

``KERNELS``: one dict per hash shown in the GIL table::

    {"name": "sha256",
     "fastconc": f(data, release_gil) -> bytes,   # one digest of a buffer
     "peers": {"hashlib": g(data) -> bytes, ...}}  # installed peers only

The fastconc callable is run with ``release_gil=False`` and ``True`` at 1..N
threads (plain ``threading.Thread``s, each on its share of the chunks); the
peers have no switch (hashlib releases the GIL above 2 KiB, python-xxhash
never does) and are shown with their own speed-up.

``SMALL_ITEMS``: the per-item overhead table (64 B and 4 KiB items)::

    {"name": "sha256", "sizes": (64, 4096),
     "contenders": {"hashlib loop": h(items) -> list, ...}}

Run ``python -m fastconc.bench.kernels_hash`` for a quick check of the
ratios of the hashing issue's "done means" list (best of N, interleaved).
"""
from __future__ import annotations

import hashlib
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import fastconc
from fastconc.bench.timing import best_of

try:
    import xxhash
except ImportError:  # a missing peer is skipped, never faked
    xxhash = None  # type: ignore[assignment]

GIL_NAMES = ["sha256", "sha1", "md5", "blake2b", "xxh3_64", "xxh64"]


def _fastconc_fn(name: str) -> Callable[[Any, bool], bytes]:
    digest = fastconc.digest

    def run(data: Any, release_gil: bool) -> bytes:
        return digest(name, data, release_gil=release_gil)

    run.__name__ = f"fastconc.digest({name!r})"
    return run


def _peers(name: str) -> dict[str, Callable[[Any], bytes]]:
    peers: dict[str, Callable[[Any], bytes]] = {}
    if name.startswith("xxh"):
        if xxhash is not None:
            fn = getattr(xxhash, f"{name}_digest")
            peers["python-xxhash"] = fn
    else:
        ctor = getattr(hashlib, name)
        peers["hashlib"] = lambda data: ctor(data).digest()
    return peers


KERNELS: list[dict[str, Any]] = [
    {"name": n, "fastconc": _fastconc_fn(n), "peers": _peers(n)}
    for n in GIL_NAMES
]


def _small(name: str) -> dict[str, Any]:
    """The small-item contenders for one algorithm; ``one`` is the peer's
    per-item function (hashlib or python-xxhash), used by the loop and by
    the stdlib executor."""
    one: Callable[[bytes], bytes] | None = None
    label = "hashlib loop"
    if name.startswith("xxh"):
        label = "python-xxhash loop"
        if xxhash is not None:
            one = getattr(xxhash, f"{name}_digest")
    else:
        ctor = getattr(hashlib, name)

        def hashlib_one(x: bytes) -> bytes:
            d: bytes = ctor(x).digest()
            return d
        one = hashlib_one
    many = fastconc.hash_many
    contenders: dict[str, Callable[[Sequence[bytes]], list[bytes]]] = {}
    if one is not None:
        peer = one
        contenders[label] = lambda items: [peer(x) for x in items]

        def executor_map(items: Sequence[bytes]) -> list[bytes]:
            with ThreadPoolExecutor(fastconc.get_threads()) as ex:
                return list(ex.map(peer, items))

        contenders["stdlib ThreadPoolExecutor.map"] = executor_map
    contenders["fastconc.hash_many"] = lambda items: many(name, items)
    return {"name": name, "sizes": (64, 4096), "contenders": contenders}


SMALL_ITEMS: list[dict[str, Any]] = [_small("sha256"), _small("xxh3_64")]


# --- measuring ------------------------------------------------------------

def threaded(fn: Callable[[Any], Any], chunks: Sequence[Any],
             nthreads: int) -> Callable[[], None]:
    """A callable running fn over chunks on nthreads threading.Threads."""
    shares = [chunks[i::nthreads] for i in range(nthreads)]

    def work(share: Sequence[Any]) -> None:
        for c in share:
            fn(c)

    def run() -> None:
        ts = [threading.Thread(target=work, args=(s,)) for s in shares]
        for t in ts:
            t.start()
        for t in ts:
            t.join()

    return run


def _report(label: str, ratio: float, bar: float) -> None:
    ok = "ok" if ratio >= bar else "BELOW"
    print(f"  {label:<58} {ratio:6.2f}x  (bar {bar:.2f}x, {ok})")


def main(argv: Sequence[str] | None = None) -> int:
    import argparse
    ap = argparse.ArgumentParser(description="hashing done-means ratios")
    ap.add_argument("--repeat", type=int, default=7)
    repeat = ap.parse_args(argv).repeat
    cpu = time.thread_time
    rnd = os.urandom
    print(f"fastconc {fastconc.__version__}, {os.cpu_count()} CPUs, "
          f"python {sys.version.split()[0]}, best of {repeat}, interleaved")

    chunks = [rnd(1 << 20) for _ in range(64)]
    d = _fastconc_fn("sha256")
    t = best_of({
        "rel1": threaded(lambda c: d(c, True), chunks, 1),
        "rel2": threaded(lambda c: d(c, True), chunks, 2),
        "held1": threaded(lambda c: d(c, False), chunks, 1),
        "held2": threaded(lambda c: d(c, False), chunks, 2),
        "hashlib1": threaded(lambda c: hashlib.sha256(c).digest(), chunks, 1),
    }, repeat)
    print("sha256, 64 x 1 MiB chunks:")
    _report("released: 2 threads / 1 thread", t["rel1"] / t["rel2"], 1.85)
    print(f"  {'held: 2 threads / 1 thread':<58} "
          f"{t['held1'] / t['held2']:6.2f}x  (expected ~1.0x)")
    _report("single thread vs hashlib", t["hashlib1"] / t["rel1"], 0.95)
    t = best_of({"fc": lambda: [d(c, True) for c in chunks],
                 "hl": lambda: [hashlib.sha256(c).digest() for c in chunks]},
                repeat, cpu)
    _report("single thread vs hashlib (CPU time)", t["hl"] / t["fc"], 0.95)

    if xxhash is not None:
        x = xxhash.xxh3_64_digest
        big = rnd(64 << 20)
        t = best_of({
            "fc": threaded(lambda c: fastconc.digest("xxh3_64", c), chunks, 1),
            "px": threaded(x, chunks, 1),
            "fcbig": lambda: fastconc.digest("xxh3_64", big),
            "pxbig": lambda: x(big),
        }, repeat)
        print("xxh3_64, single thread:")
        _report("1 MiB chunks vs python-xxhash", t["px"] / t["fc"], 1.0)
        _report("one 64 MiB buffer vs python-xxhash", t["pxbig"] / t["fcbig"],
                1.0)
        dx = fastconc.digest
        t = best_of({
            "fc": lambda: [dx("xxh3_64", c) for c in chunks],
            "px": lambda: [x(c) for c in chunks],
            "fcbig": lambda: dx("xxh3_64", big),
            "pxbig": lambda: x(big),
        }, repeat, cpu)
        _report("1 MiB chunks vs python-xxhash (CPU time)", t["px"] / t["fc"],
                1.0)
        _report("one 64 MiB buffer vs python-xxhash (CPU time)",
                t["pxbig"] / t["fcbig"], 1.0)
        del big

    sha = hashlib.sha256
    for size, count, bars in ((64, 100_000, (5.0, 200.0)),
                              (4096, 10_000, (2.5, None))):
        items = [rnd(size) for _ in range(count)]
        def hashlib_loop(items: list[bytes] = items) -> list[bytes]:
            return [sha(x).digest() for x in items]

        def many(items: list[bytes] = items, threads: Any = None
                 ) -> list[bytes]:
            return fastconc.hash_many("sha256", items, threads=threads)

        t = best_of({"loop": hashlib_loop, "many": many,
                     "many1": lambda: many(threads=1)}, repeat)
        print(f"sha256, {count} items of {size} B:")
        _report("hash_many vs hashlib loop", t["loop"] / t["many"], bars[0])
        print(f"  {'(hash_many threads=1 vs hashlib loop)':<58} "
              f"{t['loop'] / t['many1']:6.2f}x")
        if bars[1] is not None:
            with ThreadPoolExecutor(os.cpu_count()) as ex:
                t0 = time.perf_counter()
                list(ex.map(lambda x: sha(x).digest(), items))
                tpe = time.perf_counter() - t0
            _report("hash_many vs stdlib ThreadPoolExecutor.map",
                    tpe / t["many"], bars[1])

    if sys.version_info >= (3, 11):
        with tempfile.TemporaryDirectory() as tmp:
            paths = []
            for i in range(1000):
                p = os.path.join(tmp, f"f{i}")
                with open(p, "wb") as f:
                    f.write(rnd(64 << 10))
                paths.append(p)

            def loop() -> list[bytes]:
                out = []
                for p in paths:
                    with open(p, "rb") as f:
                        out.append(hashlib.file_digest(f, "sha256").digest())
                return out

            t = best_of({"loop": loop,
                         "files": lambda: fastconc.hash_files("sha256",
                                                              paths)},
                        repeat)
            print("sha256, 1000 files of 64 KiB:")
            _report("hash_files vs loop of hashlib.file_digest",
                    t["loop"] / t["files"], 1.8)
    return 0


if __name__ == "__main__":
    sys.exit(main())
