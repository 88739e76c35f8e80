"""The tables ``fastconc decompress -l`` prints: ``gzip -l``'s layout, or
``zstd -l``'s when every listed file is zstd.

Sizes come from decoding each file in full (``_cli_decode.decode``), so
they are exact for any number of members or frames, where ``gzip -l``
reads one member's 32-bit ISIZE from the last four bytes and ``zstd -l``
leaves the size blank when a frame header does not record it.  Only
formatting here: no file access.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Row:
    name: str              # the name the file decompresses to
    codec: str
    compressed: int
    uncompressed: int
    overhead: int = 0      # gzip: header + trailer bytes of the first member
    units: int = 1         # members / frames
    skips: int = 0         # skippable frames among them
    check: str = "None"    # zstd: the first frame's checksum


def _gzip_ratio(num: int, den: int) -> str:
    # gzip prints 100 * num / den with "%5.1f%%", 0 when den is 0.
    return f"{(100.0 * num / den) if den else 0.0:5.1f}%"


def gzip_table(rows: list[Row], header: bool = True) -> list[str]:
    """``gzip -l`` lines: compressed and uncompressed sizes, the ratio
    (the compressed size without the gzip header and trailer, as gzip
    counts it) and the name; a '(totals)' line for several files."""
    lines = []
    if header:
        lines.append("         compressed        uncompressed  ratio "
                     "uncompressed_name")
    for r in rows:
        num = r.uncompressed - (r.compressed - r.overhead)
        lines.append(f"{r.compressed:19d} {r.uncompressed:19d} "
                     f"{_gzip_ratio(num, r.uncompressed)} {r.name}")
    if len(rows) > 1 and header:       # gzip -lq prints neither
        c = sum(r.compressed for r in rows)
        u = sum(r.uncompressed for r in rows)
        # gzip subtracts the overhead of the last file listed only.
        num = u - (c - rows[-1].overhead)
        lines.append(f"{c:19d} {u:19d} {_gzip_ratio(num, u)} (totals)")
    return lines


_UNITS = ((1 << 60, "EiB"), (1 << 50, "PiB"), (1 << 40, "TiB"),
          (1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB"))


def _human(n: int, width: int) -> str:
    """A size as zstd -l shows it: '72.3 KiB', '575 KiB', '16   B'."""
    value, suffix = float(n), "B"
    for base, name in _UNITS:
        if n >= base:
            value, suffix = n / base, name
            break
    if value >= 100 or value == n:
        prec = 0
    elif value >= 10:
        prec = 1
    elif value > 1:
        prec = 2
    else:
        prec = 3
    return f"{value:{width}.{prec}f}{' ' + suffix:>4s}"


def _zstd_line(frames: int, skips: int, c: int, u: int, check: str,
               name: str) -> str:
    ratio = u / c if c else 0.0
    return (f"{frames:6d}  {skips:5d}  {_human(c, 6)}  {_human(u, 8)}  "
            f"{ratio:5.3f}  {check:>5s}  {name}")


def zstd_table(rows: list[Row], names: list[str],
               header: bool = True) -> list[str]:
    """``zstd -l`` lines (frames, skippable frames, sizes, ratio
    uncompressed/compressed, checksum, the file's own name); a totals line
    for several files."""
    lines = []
    if header:
        lines.append("Frames  Skips  Compressed  Uncompressed  Ratio  Check"
                     "  Filename")
    for r, name in zip(rows, names):
        lines.append(_zstd_line(r.units, r.skips, r.compressed,
                                r.uncompressed, r.check, name))
    if len(rows) > 1:
        checks = {r.check for r in rows}
        lines.append("-" * 65 + " ")
        lines.append(_zstd_line(
            sum(r.units for r in rows), sum(r.skips for r in rows),
            sum(r.compressed for r in rows),
            sum(r.uncompressed for r in rows),
            checks.pop() if len(checks) == 1 else "",
            f"{len(rows)} files"))
    return lines
