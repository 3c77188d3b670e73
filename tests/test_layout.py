"""The layout the README's "How it works" promises: every module in its table, every
module opening with one line that says its job."""

from __future__ import annotations

import ast
import re

from tests.helpers.paths import ROOT

PACKAGE = ROOT / "streamcli"


def test_every_module_is_in_the_how_it_works_table():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## How it works"):]
    named = set(re.findall(r"`([a-z_]+)`", section))
    modules = {p.stem for p in PACKAGE.glob("*.py") if not p.stem.startswith("__")}
    assert modules and not sorted(modules - named)


def test_every_module_opens_with_one_line_that_says_its_job():
    for path in sorted(PACKAGE.rglob("*.py")):
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")), clean=False)
        assert doc, f"{path} has no docstring"
        first = doc.split("\n", 1)[0]
        rest = doc.split("\n", 1)[1] if "\n" in doc else ""
        # One line: the summary is not continued on the next line.
        assert first.strip() and (not rest or rest.startswith("\n")), (path, first)
