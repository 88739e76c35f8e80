"""Build fastconc._core from src/, linking system libraries found by pkg-config.

Kernels for one instruction set live in files named ``*_<isa>.c`` and are
compiled with that instruction set's flags only; the rest of the module is
compiled for the baseline, and the running CPU picks the kernels.
"""
import os
import platform
import shutil
import subprocess
import sys
from glob import glob

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

# pkg-config name -> Debian package that provides it
REQUIRED = {
    "libcrypto": "libssl-dev",
    "zlib": "zlib1g-dev",
    "libzstd": "libzstd-dev",
    "liblz4": "liblz4-dev",
    "libxxhash": "libxxhash-dev",
}
OPTIONAL = {
    "libisal": ("libisal-dev", "FC_HAVE_ISAL"),
    "libdeflate": ("libdeflate-dev", "FC_HAVE_LIBDEFLATE"),
}

# file suffix -> compiler flags for that instruction set
ISA_FLAGS = {
    "sse42": ["-msse4.2", "-mpclmul"],
    "avx2": ["-mavx2", "-mbmi2"],
    "vpclmul": ["-mavx2", "-mbmi2", "-mpclmul", "-mvpclmulqdq"],
    "avx512": ["-mavx512f", "-mavx512bw", "-mavx512vl", "-mavx2", "-mbmi2"],
    "shani": ["-msha", "-msse4.1", "-mssse3"],
    "avx512vp": ["-mavx512f", "-mavx512bw", "-mavx512vl", "-mavx2", "-mbmi2",
                 "-mpclmul", "-mvpclmulqdq"],
    "avx512vnni": ["-mavx512f", "-mavx512bw", "-mavx512vl", "-mavx512vnni",
                   "-mavx2", "-mbmi2"],
}


def fail(msg):
    sys.stderr.write(f"fastconc build error: {msg}\n")
    sys.exit(1)


def pkg_config(name, *flags):
    out = subprocess.run(["pkg-config", *flags, name], capture_output=True,
                         text=True)
    if out.returncode != 0:
        return None
    return out.stdout.split()


def find_libraries():
    if shutil.which("pkg-config") is None:
        fail("pkg-config not found: install it (apt-get install pkg-config)")
    cflags, libs, macros, found = [], [], [], {}
    for name, deb in REQUIRED.items():
        flags = pkg_config(name, "--cflags", "--libs")
        if flags is None:
            fail(f"{name} not found by pkg-config: "
                 f"install it (apt-get install {deb})")
        found[name] = flags
    for name, (deb, macro) in OPTIONAL.items():
        flags = pkg_config(name, "--cflags", "--libs")
        if flags is not None:
            found[name] = flags
            macros.append((macro, "1"))
    for flags in found.values():
        for f in flags:
            (libs if f.startswith(("-l", "-L")) else cflags).append(f)
    return cflags, libs, macros


X86 = platform.machine().lower() in ("x86_64", "amd64", "i686", "i386")


def isa_of(path):
    stem = os.path.splitext(os.path.basename(path))[0]
    suffix = stem.rsplit("_", 1)[-1]
    return suffix if "_" in stem and suffix in ISA_FLAGS else None


class BuildExt(build_ext):
    """Compile the ``*_<isa>.c`` files with their own flags."""

    def build_extension(self, ext):
        isa_sources = [s for s in ext.sources if isa_of(s)]
        ext.sources = [s for s in ext.sources if not isa_of(s)]
        objects = []
        for src in isa_sources:
            # Off x86 the files compile to nothing (their code is guarded),
            # so they get no ISA flags.
            flags = ISA_FLAGS[isa_of(src)] if X86 else []
            objects += self.compiler.compile(
                [src], output_dir=self.build_temp, macros=ext.define_macros,
                include_dirs=ext.include_dirs,
                extra_postargs=ext.extra_compile_args + flags,
                depends=ext.depends)
        ext.extra_objects = list(ext.extra_objects or []) + objects
        super().build_extension(ext)


cflags, libs, macros = find_libraries()
warn = ["-Wall", "-Wextra"]
if os.environ.get("FASTCONC_WERROR") == "1":
    warn.append("-Werror")
extra = os.environ.get("FASTCONC_CFLAGS", "").split()

# One folder per concern under src/ (see docs/ARCHITECTURE.md); every .c
# in them is part of the module.
sources = sorted(glob("src/**/*.c", recursive=True))
setup(
    ext_modules=[
        Extension(
            "fastconc._core",
            sources=sources,
            # The ISA files are listed too: they are linked as extra objects,
            # which the up-to-date check would otherwise not see.
            depends=sorted(glob("src/**/*.h", recursive=True) +
                           [s for s in sources if isa_of(s)]),
            include_dirs=["src"],
            define_macros=macros,
            extra_compile_args=["-std=gnu11", "-O3", "-fvisibility=hidden",
                                *warn, *cflags, *extra],
            extra_link_args=[*libs, "-lpthread", *extra],
        )
    ],
    cmdclass={"build_ext": BuildExt},
)
