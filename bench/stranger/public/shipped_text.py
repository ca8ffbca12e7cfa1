"""Text that ships with Python: the docstrings of the standard library's own source files.

No download and no import of the modules (nothing runs): each ``Lib/*.py`` file is parsed with
``ast`` and its module, class and function docstrings are concatenated in sorted file order, so
the corpus is the same for a given Python version.
"""

from __future__ import annotations

import ast
import sysconfig
from functools import cache
from pathlib import Path


@cache
def stdlib_docstrings(max_chars: int = 1_200_000) -> str:
    lib = Path(sysconfig.get_paths()["stdlib"])
    parts: list[str] = []
    total = 0
    for f in sorted(lib.glob("*.py")):
        try:
            tree = ast.parse(f.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError, ValueError):
            continue
        nodes = [tree] + [n for n in ast.walk(tree) if isinstance(n, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))]
        for n in nodes:
            d = ast.get_docstring(n)
            if d and len(d) > 40:
                d = "".join(c for c in d if c.isascii())
                parts.append(d.strip() + "\n\n")
                total += len(parts[-1])
        if total >= max_chars:
            break
    return "".join(parts)[:max_chars]
