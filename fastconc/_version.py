"""The version of fastconc, defined here and nowhere else.

pyproject.toml reads it (``[tool.setuptools.dynamic]``) and setup.py passes
it to the C build as ``FC_VERSION``, so ``fastconc.__version__``,
``fastconc._core.__version__``, ``fastconc.info()["version"]``,
``fastconc --version`` and the package metadata all say the same.  This
module imports nothing: it is read while building the sdist, before the
extension exists.
"""

__version__ = "0.1.0"
