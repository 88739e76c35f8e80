"""Print the build requirements pyproject.toml names for one CPython version,
one a line, markers resolved:

  tools/build_requires.py 3.12          setuptools>=66.1, wheel
  tools/build_requires.py --floor 3.12  setuptools==66.1, wheel: the oldest
                                        versions they admit

Run with a Python that has `packaging` (pip's `build` brings it); the
version is the interpreter's the requirements are for.
"""
import pathlib
import re
import sys

from packaging.requirements import Requirement

PYPROJECT = pathlib.Path(__file__).resolve().parent.parent / "pyproject.toml"


def requirements(python_version: str) -> list[Requirement]:
    text = PYPROJECT.read_text()
    block = re.search(r"^requires = \[(.*?)\]", text, re.S | re.M)
    assert block, "no [build-system] requires in pyproject.toml"
    out = []
    for item in re.findall(r'"([^"]+)"', block.group(1)):
        req = Requirement(item)
        if req.marker is None or req.marker.evaluate(
                {"python_version": python_version}):
            req.marker = None
            out.append(req)
    return out


def floor(req: Requirement) -> str:
    lows = [s.version for s in req.specifier if s.operator in (">=", "==")]
    return f"{req.name}=={lows[0]}" if lows else req.name


def main(argv: list[str]) -> None:
    want_floor = argv[:1] == ["--floor"]
    args = argv[1:] if want_floor else argv
    if len(args) != 1 or not re.fullmatch(r"\d+\.\d+", args[0]):
        raise SystemExit(__doc__)
    for req in requirements(args[0]):
        print(floor(req) if want_floor else str(req))


if __name__ == "__main__":
    main(sys.argv[1:])
