"""What lz4's checksums cost: compress() and decompress() of fastconc's
lz4 frames with block and content checksums (this build) against the
same calls of a build without them, best of N, interleaved, in one
process (not a pytest file).

    python3 benchmarks/ratio_lz4_checksum.py BASELINE_CORE_SO [ROUNDS]

BASELINE_CORE_SO is the ``fastconc/_core*.so`` of a build from before
the checksums (a copy of it: it is loaded beside this one under another
package name).  Prints, for 1 MiB and 64 MiB of the real corpus and for
threads 1 and 2, the throughput of each and the ratio time(with) /
time(without).
"""
from __future__ import annotations

import importlib.machinery
import importlib.util
import sys
from collections.abc import Callable
from typing import Any

import fastconc
from fastconc.bench.corpus import build_corpus
from fastconc.bench.timing import best_of, fmt_rate

MiB = 1 << 20


def _load_baseline(path: str) -> Any:
    # The module's init function is PyInit__core: keep the last name part.
    name = "fastconc_baseline._core"
    loader = importlib.machinery.ExtensionFileLoader(name, path)
    spec = importlib.util.spec_from_file_location(name, path, loader=loader)
    assert spec is not None
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


def _calls(fn: Callable[..., object], n: int, *args: Any,
           **kwargs: Any) -> Callable[[], object]:
    """fn(*args, **kwargs) n times, as one sample."""
    def run() -> object:
        for _ in range(n):
            fn(*args, **kwargs)
        return None
    return run


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    base = _load_baseline(argv[0])
    rounds = int(argv[1]) if len(argv) > 1 else 9
    corpus = build_corpus(64 * MiB)[0]
    print("| size | threads | step | with checksums | without | "
          "time ratio |")
    print("|---|---|---|---|---|---|")
    for size in (MiB, 64 * MiB):
        data = corpus[:size]
        for threads in (1, 2):
            new = fastconc.compress(data, "lz4", threads=threads)
            old = base.compress(data, "lz4", threads=threads)
            assert new[4] == 0x7C and old[4] == 0x68, (new[:6], old[:6])
            assert fastconc.decompress(new, threads=threads) == data
            assert base.decompress(old, threads=threads) == data
            # Small inputs: enough calls per sample to time them well.
            calls = max(1, (16 * MiB) // size)
            steps = {
                "compress": (_calls(fastconc.compress, calls, data, "lz4",
                                    threads=threads),
                             _calls(base.compress, calls, data, "lz4",
                                    threads=threads)),
                "decompress": (_calls(fastconc.decompress, calls, new,
                                      threads=threads),
                               _calls(base.decompress, calls, old,
                                      threads=threads)),
            }
            for step, (with_, without) in steps.items():
                best = best_of({"with": with_, "without": without}, rounds)
                nbytes = size * calls
                print(f"| {size // MiB} MiB | {threads} | {step} | "
                      f"{fmt_rate(nbytes, best['with'])} | "
                      f"{fmt_rate(nbytes, best['without'])} | "
                      f"{best['with'] / best['without']:.3f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
