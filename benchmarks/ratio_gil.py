"""Two Python threads against two native threads, in one run (not a pytest
file): the figures of issue 26 item 4.

    python3 benchmarks/ratio_gil.py [--rounds N] [--sizes 64K,1M]
                                    [--kernels crc32c,sha256,...] [--sweep]

Per kernel and chunk size, interleaved in the same rounds, best of N, with
the same total work in every contender:

- ``py 2/1``: two plain threads each calling fastconc on the same chunks
  (``threads=1``, ``release_gil=None``: the library's own policy decides)
  against one thread making all the calls;
- ``native 2/1``: the same chunks, as many calls, on fastconc's own
  threads (``crc32c(chunk, threads=2)``, ``hash_many``, ``compress_many``)
  against ``threads=1``;
- ``of native`` = py 2/1 / native 2/1;
- ``blocks``: voluntary context switches per call in the fastest py 2/1
  pass: how often a Python thread found the GIL taken when its call
  returned and had to sleep for it (the hand-off's cost is paid at most
  that often);
- ``control``: two copies of a native vector loop (no memory, no
  interpreter) at once against one after the other, in the same rounds as
  the row: what the machine gave two threads meanwhile (a shared VM's
  vCPUs are not always whole cores; rows measured when it falls short of
  2x fall short with it).

Every row is its own group of interleaved rounds (its four contenders and
the control); the Python threads are started once and parked between
passes (fastconc.bench.timing.run_parked), as the pool's threads are, and
every contender makes one untimed pass first.

Targets: at 1 MiB ``of native`` >= 0.95 for every row; at 64 KiB ``py
2/1`` >= 1.0 (never slower than one thread) and ``of native`` >= 0.95
where the call lasts long enough to pay for the GIL hand-off.

``--sweep`` then forces ``release_gil=True`` for crc32c at growing chunk
sizes and prints where two released Python threads stop being slower than
one, and where they reach 0.95x native: the call length from which
releasing pays on this machine (the policy's ``_set_gil_release_us``).
"""
from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from typing import Any

import fastconc
from fastconc.bench.corpus import build_corpus
from fastconc.bench.kernels import Kernel, all_kernels, select
from fastconc.bench.timing import (
    Contender,
    Samples,
    control_line,
    measure,
    native_controls,
    run_parked,
    threads_job,
    time_once,
    voluntary_switches,
)

KERNELS = "crc32c,xxh3_64,sha256,blake3,zstd-3 compress,gzip-6 compress"


def _size(text: str) -> int:
    text = text.strip().upper()
    mult = {"K": 1 << 10, "M": 1 << 20}.get(text[-1:], 1)
    return int(text.rstrip("KM")) * mult


def _chunks(k: Kernel, size: int, rnd: bytes, corpus: bytes,
            count: int) -> list[Any]:
    src = corpus if k.data == "corpus" else rnd
    step = max(size, (len(src) - size) // max(1, count - 1))
    out = [src[i:i + size] for i in range(0, len(src) - size + 1, step)]
    out = out[:count]
    if k.prepare is not None:
        out = [k.prepare(bytes(c)) for c in out]
    return out


def _calls(fn: Callable[[Any], object], chunk: Any, budget: float) -> int:
    cost = min(time_once(lambda: fn(chunk)) for _ in range(3))
    return max(2, int(budget / max(cost, 1e-7)))


def _contenders(k: Kernel, chunks: list[Any], budget: float,
                release: bool | None, tag: Any) -> tuple[list[Contender],
                                                        float]:
    """py/1, py/2, native/1, native/2 for kernel k on these chunks; and
    the time of one call."""
    impl = k.fastconc
    assert impl.fn is not None and impl.native is not None
    fc, native = impl.fn, impl.native

    def one(d: Any) -> object:
        return fc(d, release, 1)
    one(chunks[0])
    cost = min(time_once(lambda: one(chunks[0])) for _ in range(3))
    calls = _calls(one, chunks[0], budget)
    rounds = max(1, calls // (2 * len(chunks)))
    work = chunks * (2 * rounds)             # the same total everywhere
    half = chunks * rounds
    # Both sides warm before the first timed pass: the Python threads are
    # parked ones (threads_job), started once as the pool's are, and each
    # contender makes one untimed pass (first touches, the pool's start).
    return [
        Contender((tag, "py", 1), threads_job(one, work, 1),
                  self_timed=True, warm_up=True),
        Contender((tag, "py", 2), _counting(threads_job(one, half, 2)),
                  self_timed=True, warm_up=True, meta={"calls": len(work)}),
        Contender((tag, "native", 1), lambda: native(work, 1), warm_up=True),
        Contender((tag, "native", 2), lambda: native(work, 2), warm_up=True),
    ], cost


def _counting(job: Callable[[], float]) -> Callable[[], tuple[float, int]]:
    """job, returning beside its seconds the voluntary context switches
    of this process meanwhile: a Python thread that finds the GIL taken
    when its call returns blocks (one switch), so switches / calls bounds
    how often the GIL hand-off cost a call anything."""
    def run() -> tuple[float, int]:
        before = voluntary_switches()
        seconds = job()
        return seconds, voluntary_switches() - before
    return run


def _pass_switches() -> int:
    """The switches of an empty pass of two parked threads (their start
    and end barriers, the caller's wait): taken off _blocks' count."""
    def noop() -> None:
        pass
    counts = []
    for _ in range(5):
        before = voluntary_switches()
        run_parked([noop, noop])
        counts.append(voluntary_switches() - before)
    return min(counts)


def _blocks(res: dict[Any, Samples], conts: list[Contender],
            tag: Any, base: int) -> str:
    """Switches per call of the py/2 pass that was fastest, less those of
    an empty pass."""
    s = res[tag, "py", 2]
    calls = next(c.meta["calls"] for c in conts if c.key == (tag, "py", 2))
    if not s.records:
        return "–"
    best = min(range(len(s.times)), key=s.times.__getitem__)
    return f"{max(0, s.records[best] - base) / calls:.3f}"


def _fmt_us(s: float) -> str:
    return f"{s * 1e6:8.1f} µs"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--sizes", default="64K,1M")
    ap.add_argument("--kernels", default=KERNELS)
    ap.add_argument("--budget", type=float, default=0.05,
                    help="seconds of one pass at one thread")
    ap.add_argument("--sweep", action="store_true")
    args = ap.parse_args()

    sizes = [_size(s) for s in args.sizes.split(",")]
    kernels = [k for k in select(all_kernels(), args.kernels)
               if k.fastconc.fn is not None and k.fastconc.native is not None]
    rnd = os.urandom(16 << 20)
    corpus = build_corpus(16 << 20)[0]
    info = fastconc.info()
    print(f"fastconc {fastconc.__version__}, SIMD {info['simd_level']}, "
          f"GIL_THRESHOLD {info['gil_threshold']}, release time "
          f"{info.get('gil_release_us')} µs, {os.cpu_count()} CPUs")

    ctl = native_controls(0.05, 2)
    vec = {key: fn for key, fn in (ctl or {}).items()
           if key.startswith("vector/")}

    print(f"\n{'kernel':<18}{'chunk':>7}{'one call':>12}{'py 2/1':>9}"
          f"{'native 2/1':>12}{'of native':>11}{'control':>9}"
          f"{'blocks':>8}   target",
          flush=True)
    every: dict[Any, Samples] = {}
    base = _pass_switches()
    for k in kernels:
        for size in sizes:
            tag = (k.name, size)
            # checksums and hashes go round a few cache-resident chunks
            n = 8 if k.family != "codec" else 16
            conts, cost = _contenders(k, _chunks(k, size, rnd, corpus, n),
                                      args.budget, None, tag)
            conts += [Contender((tag, "control", key), fn)
                      for key, fn in vec.items()]
            res = measure(conts, args.rounds)
            every.update(res)
            py = res[tag, "py", 1].best / res[tag, "py", 2].best
            nat = res[tag, "native", 1].best / res[tag, "native", 2].best
            cell = "–"
            if vec:
                c = (res[tag, "control", "vector/1"].best
                     / res[tag, "control", "vector/2"].best)
                cell = f"{c:.2f}x"
            if size >= 1 << 20:
                target = "of native >= 0.95"
            else:
                target = "py >= 1.00 (>= 0.95 native if the call is long)"
            label = f"{size >> 10}K" if size < 1 << 20 else f"{size >> 20}M"
            print(f"{k.name:<18}{label:>7}{_fmt_us(cost):>12}"
                  f"{py:8.2f}x{nat:11.2f}x{py / nat:11.2f}{cell:>9}"
                  f"{_blocks(res, conts, tag, base):>8}   {target}",
                  flush=True)
    if vec:
        ctl_res: dict[Any, Samples] = {}
        for key, s in every.items():
            if isinstance(key, tuple) and key[1] == "control":
                prev = ctl_res.setdefault(key[2], Samples())
                prev.times += s.times
        print("\nnative control over the whole run (best of all rows' "
              "rounds): " + control_line(ctl_res, (), 2, "x"))

    if args.sweep:
        _sweep(args, rnd, vec)


def _sweep(args: argparse.Namespace, rnd: bytes,
           vec: dict[str, Callable[[], object]]) -> None:
    """crc32c with the GIL released whatever the size: where releasing
    starts to pay.  Each size is its own group of rounds, with the control
    (at 16-64 KiB crc32c(threads=2) does not split the buffer: native 2/1
    is about 1 there by construction)."""
    k = select(all_kernels(), "crc32c")[0]
    sizes = [4 << 10, 8 << 10, 16 << 10, 32 << 10, 64 << 10, 128 << 10,
             256 << 10, 512 << 10, 1 << 20]
    print("\ncrc32c, release_gil=True at every size:")
    print(f"{'chunk':>7}{'one call':>12}{'py 2/1':>9}{'native 2/1':>12}"
          f"{'of native':>11}{'control':>9}", flush=True)
    for size in sizes:
        conts, cost = _contenders(k, _chunks(k, size, rnd, rnd, 8),
                                  args.budget, True, size)
        conts += [Contender((size, "control", key), fn)
                  for key, fn in vec.items()]
        res = measure(conts, args.rounds)
        py = res[size, "py", 1].best / res[size, "py", 2].best
        nat = res[size, "native", 1].best / res[size, "native", 2].best
        cell = "–"
        if vec:
            c = (res[size, "control", "vector/1"].best
                 / res[size, "control", "vector/2"].best)
            cell = f"{c:.2f}x"
        print(f"{size >> 10:>6}K{_fmt_us(cost):>12}{py:8.2f}x"
              f"{nat:11.2f}x{py / nat:11.2f}{cell:>9}", flush=True)
    print("releasing pays from the first call length with py 2/1 >= 1.0 "
          "(on rows whose control is near 2x); the policy's release time "
          f"(now {fastconc.info().get('gil_release_us')} µs, "
          "fastconc._core._set_gil_release_us) should sit at or above it")

if __name__ == "__main__":
    main()
