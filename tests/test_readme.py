"""Every ```python block of README.md runs, so the README cannot rot.

Each block runs on its own, in a fresh namespace and a temporary working
directory.  A block whose first line is ``# requires: mod, mod`` is skipped
when one of those modules cannot be imported.
"""
from __future__ import annotations

import os
import re

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
README = os.path.join(ROOT, "README.md")


def _blocks() -> list[tuple[str, int, str]]:
    with open(README, encoding="utf-8") as f:
        text = f.read()
    out = []
    heading = "top"
    for m in re.finditer(r"^(#+ [^\n]*)$|^```python\n(.*?)^```$", text,
                         re.MULTILINE | re.DOTALL):
        if m.group(1):
            heading = m.group(1).lstrip("# ").strip()
            continue
        line = text.count("\n", 0, m.start()) + 1
        out.append((heading, line, m.group(2)))
    return out


BLOCKS = _blocks()


def test_readme_has_examples():
    assert len(BLOCKS) >= 8
    text = open(README, encoding="utf-8").read()
    assert "make bench" in text and "make test" in text
    assert "<!-- bench:start -->" in text and "<!-- bench:end -->" in text


@pytest.mark.timeout(300)
@pytest.mark.parametrize("heading, line, code", BLOCKS,
                         ids=[f"L{line}-{h.replace(' ', '_')}"
                              for h, line, _ in BLOCKS])
def test_readme_block(heading, line, code, tmp_path, monkeypatch):
    first = code.splitlines()[0] if code.strip() else ""
    m = re.match(r"#\s*requires:\s*(.+)", first)
    if m:
        for mod in m.group(1).split(","):
            pytest.importorskip(mod.strip())
    monkeypatch.chdir(tmp_path)
    compiled = compile(code, f"README.md:{line}", "exec")
    exec(compiled, {"__name__": "__readme__"})
