"""Every public name of the package is on the documentation's API page.

The page (``docs/api.rst``) is written at build time by ``docs/_ext/api_reference.py``. This
test renders its text without Sphinx and checks it against the package's public names,
discovered here independently: every public module (walked with pkgutil, skipping any
module with a private component) and its ``__all__``. A name exported by a module must be
listed in that module's part of the page, either documented there or linked to the one
place it is documented; and every object is documented exactly once.
"""

import importlib
import importlib.util
import inspect
import pkgutil
import re
import sys
from collections import Counter
from pathlib import Path

import pytest

import sklearn_mtml

EXT = Path(__file__).resolve().parents[1] / "docs" / "_ext" / "api_reference.py"


def _load_extension():
    spec = importlib.util.spec_from_file_location("_api_reference_under_test", EXT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def _public_modules():
    names = ["sklearn_mtml"]
    for info in pkgutil.walk_packages(sklearn_mtml.__path__, prefix="sklearn_mtml."):
        if any(part.startswith("_") for part in info.name.split(".")):
            continue
        names.append(info.name)
    return sorted(names)


def _exports(module):
    names = getattr(module, "__all__", None)
    if names is None:  # no __all__: what the module itself defines
        names = [
            n
            for n, obj in vars(module).items()
            if not n.startswith("_")
            and (inspect.isclass(obj) or inspect.isfunction(obj))
            and getattr(obj, "__module__", "") == module.__name__
        ]
    return sorted(set(names))


def _public_names():
    """``[(module, name)]`` of every export of every public, importable module."""
    pairs = []
    for module_name in _public_modules():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and not exc.name.startswith("sklearn_mtml"):
                continue  # needs an optional dependency: not documented either
            raise
        pairs += [(module_name, name) for name in _exports(module)]
    return pairs


def _resolve(dotted):
    module_name, _, attr = dotted.rpartition(".")
    while module_name:
        try:
            return getattr(importlib.import_module(module_name), attr)
        except ModuleNotFoundError:
            module_name, _, rest = module_name.rpartition(".")
            attr = f"{rest}.{attr}"
    raise LookupError(dotted)


def _page_entries(text):
    """``[(currentmodule, full name, documented here?)]`` of every autosummary entry."""
    entries, current, in_block, toctree = [], None, False, False
    for line in text.splitlines():
        if m := re.match(r"\.\. currentmodule:: (\S+)", line):
            current, in_block = m.group(1), False
        elif line.startswith(".. autosummary::"):
            in_block, toctree = True, False
        elif in_block and line.strip().startswith(":toctree:"):
            toctree = True
        elif in_block and line.startswith("   ") and line.strip():
            name = line.strip().lstrip("~")
            full = name if "." in name else f"{current}.{name}"
            entries.append((current, full, toctree))
        elif in_block and line.strip() and not line.startswith(" "):
            in_block = False
    return entries


@pytest.fixture(scope="module")
def page():
    return _load_extension().api_text()


def test_public_modules_are_found():
    modules = _public_modules()
    for expected in ["sklearn_mtml.linear", "sklearn_mtml.metrics", "sklearn_mtml.nn.heads"]:
        assert expected in modules
    assert not [m for m in modules if "._" in m]


def _missing_from(page):
    """Public ``module.name`` not listed in ``module``'s part of the page."""
    listed = {}  # module part of the page -> ids of the objects it lists
    for current, full, _ in _page_entries(page):
        listed.setdefault(current, set()).add(id(_resolve(full)))
    return [
        f"{module}.{name}"
        for module, name in _public_names()
        if id(getattr(importlib.import_module(module), name)) not in listed.get(module, set())
    ]


def test_every_public_name_is_on_the_api_page(page):
    missing = _missing_from(page)
    assert not missing, f"public names missing from the API page: {missing}"


def test_every_object_is_documented_exactly_once(page):
    documented = [full for _, full, toctree in _page_entries(page) if toctree]
    counts = Counter(id(_resolve(full)) for full in documented)
    twice = sorted(full for full in documented if counts[id(_resolve(full))] > 1)
    assert not twice, f"documented more than once (duplicate descriptions): {twice}"
    # ... and a link to a documented object points at a page that exists.
    links = {full for _, full, toctree in _page_entries(page) if not toctree}
    assert links <= set(documented), sorted(links - set(documented))


def test_a_missing_name_would_fail(page):
    """The check above sees a name dropped from the page."""
    assert "\n   MultiTaskRidge\n" in page
    assert _missing_from(page.replace("\n   MultiTaskRidge\n", "\n")) == [
        "sklearn_mtml.MultiTaskRidge"
    ]
