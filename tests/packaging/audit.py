"""Check what a repaired wheel holds (tests/packaging/check_wheel.sh).

  audit.py WHEEL

`auditwheel show` must find it consistent with a manylinux tag and report
no external library; inside, fastconc.libs/ holds one copy of each of the
six libraries fastconc links and nothing else; every ELF file's NEEDED
entries are either in fastconc.libs/ or the C runtime and zlib, which the
manylinux policy lets stay outside; the module finds fastconc.libs/ through
its RPATH; the copied libraries' copyright notices are in the .dist-info.
Prints the tag and the size.
"""
from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import zipfile

from elftools.elf.dynamic import DynamicSection
from elftools.elf.elffile import ELFFile

BUNDLED = ("libcrypto", "libzstd", "liblz4", "libxxhash", "libisal",
           "libdeflate")
# The C runtime (glibc's libraries and the dynamic loader) and zlib.
OUTSIDE = re.compile(r"^(libc\.so\.6|libm\.so\.6|libpthread\.so\.0|"
                     r"libdl\.so\.2|librt\.so\.1|ld-linux[-\w.]*\.so\.\d|"
                     r"libz\.so\.1)$")


def dynamic(data: bytes) -> tuple[list[str], list[str]]:
    """(NEEDED, RPATH + RUNPATH) of an ELF file."""
    elf = ELFFile(io.BytesIO(data))
    needed: list[str] = []
    paths: list[str] = []
    for section in elf.iter_sections():
        if isinstance(section, DynamicSection):
            for tag in section.iter_tags():
                if tag.entry.d_tag == "DT_NEEDED":
                    needed.append(tag.needed)
                elif tag.entry.d_tag in ("DT_RPATH", "DT_RUNPATH"):
                    paths.append(getattr(tag, "rpath", None)
                                 or getattr(tag, "runpath", ""))
    return needed, paths


def main(wheel: str) -> None:
    show = subprocess.run([sys.executable, "-m", "auditwheel", "show",
                           "--json", wheel], capture_output=True, text=True)
    assert show.returncode == 0, show.stderr
    info = json.loads(show.stdout)
    tag = info["overall_tag"]
    assert tag.startswith("manylinux_"), f"auditwheel show: tag {tag}"
    assert info["external_libs"] == {}, f"external: {info['external_libs']}"

    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        libs = sorted(os.path.basename(n) for n in names
                      if n.startswith("fastconc.libs/") and not n.endswith("/"))
        stems = sorted(name.split("-", 1)[0] for name in libs)
        assert stems == sorted(BUNDLED), f"fastconc.libs holds {libs}"
        for name in info["versioned_symbols"]:
            assert OUTSIDE.match(name) or name in libs, \
                f"symbols from {name}, neither inside nor allowed outside"
        modules = [n for n in names if n.startswith("fastconc/_core.")
                   and n.endswith(".so")]
        assert len(modules) == 1, modules
        outside: set[str] = set()
        for n in [*modules, *("fastconc.libs/" + lib for lib in libs)]:
            needed, paths = dynamic(zf.read(n))
            for dep in needed:
                assert OUTSIDE.match(dep) or dep in libs, \
                    f"{n} needs {dep}, neither inside nor allowed outside"
                if dep not in libs:
                    outside.add(dep)
            if n in modules:
                assert "$ORIGIN/../fastconc.libs" in ":".join(paths), paths
                assert {d.split("-", 1)[0] for d in needed
                        if d in libs} == set(BUNDLED), needed
        notices = [n for n in names if re.search(
            r"\.dist-info/licenses/[^/]+\.copyright$", n)]
        assert len(notices) == len(BUNDLED), f"licence notices: {notices}"
        for n in notices:
            assert b"Copyright" in zf.read(n) or b"copyright" in zf.read(n), n
    size = os.path.getsize(wheel)
    print(f"audit: {os.path.basename(wheel)}: tag {tag}, {size} bytes "
          f"({size / 2**20:.2f} MiB); inside: {', '.join(libs)}; "
          f"outside: {', '.join(sorted(outside))}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    main(sys.argv[1])
