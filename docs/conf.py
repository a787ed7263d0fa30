"""Sphinx configuration of sklearn-mtml's documentation.

Build with ``make -C docs html`` (warnings are errors). The API reference is generated from
the package's public names (``_ext/api_reference.py``) and the gallery by executing every
script of ``../examples``; set ``SKLEARN_MTML_QUICK=1`` to run the examples in their quick
mode, or use ``make -C docs html-noplot`` to skip running them.
"""

import os
import re
import sys
from pathlib import Path

import matplotlib
from docutils.utils import get_source_line

matplotlib.use("Agg")

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))

from api_reference import (  # noqa: E402
    registry_lines,
    undocumented,
    write_api_reference,
    write_registries,
)

import sklearn_mtml  # noqa: E402

# -- Project ----------------------------------------------------------------------------
project = "sklearn-mtml"
author = "sklearn-mtml developers"
copyright = "2026, sklearn-mtml developers"
release = sklearn_mtml.__version__
version = ".".join(release.split(".")[:2])

# -- Extensions -------------------------------------------------------------------------
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "myst_parser",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
templates_path = ["_templates"]
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "auto_examples/*.ipynb"]
default_role = "literal"

# The API page is derived from the package's public names: write it before autosummary
# reads the sources.
write_api_reference(HERE / "api.rst")
write_registries(HERE / "user_guide" / "registries.inc")

autosummary_generate = True
autodoc_default_options = {"members": True, "inherited-members": True}
autodoc_typehints = "none"
# numpydoc lists the members itself only when asked; the class template does it instead.
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True

# Markdown (benchmarks/README.md is included as it is): relative links to files outside the
# docs (e.g. ``scaling.py``) are not documents, so missing-reference notes are not errors.
myst_heading_anchors = 3
suppress_warnings = ["myst.xref_missing", "myst.header"]

# -- Gallery ----------------------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": ["../examples"],
    "gallery_dirs": ["auto_examples"],
    # Run every script, not only ``plot_*`` ones: the gallery is a test of the examples.
    "filename_pattern": r"\.py$",
    "ignore_pattern": r"(__init__|conftest|_quick)\.py",
    "doc_module": ("sklearn_mtml",),
    "backreferences_dir": "gen_modules/backreferences",
    "reference_url": {"sklearn_mtml": None},
    "within_subsection_order": "FileNameSortKey",
    "remove_config_comments": True,
    "matplotlib_animations": False,
    "plot_gallery": "True",
    "show_memory": False,
    "min_reported_time": 2,
    "abort_on_example_error": False,
    "only_warn_on_example_error": False,
}
if os.environ.get("SKLEARN_MTML_QUICK"):
    sphinx_gallery_conf["min_reported_time"] = 0

# -- HTML -------------------------------------------------------------------------------
try:
    import pydata_sphinx_theme  # noqa: F401

    html_theme = "pydata_sphinx_theme"
    html_theme_options = {
        "navigation_with_keys": False,
        "show_toc_level": 2,
        "header_links_before_dropdown": 6,
        "secondary_sidebar_items": ["page-toc", "sourcelink"],
    }
except ImportError:  # pragma: no cover - fallback theme that ships with Sphinx
    html_theme = "alabaster"
html_title = f"sklearn-mtml {release}"
html_static_path = []
html_show_sourcelink = True


# -- Hooks ------------------------------------------------------------------------------
_SKLEARN_PLUMBING = re.compile(r"^(set_\w+_request|get_metadata_routing)$")


def _skip_sklearn_plumbing(app, what, name, obj, skip, options):
    """Leave scikit-learn's metadata-routing plumbing out of every class page.

    Every estimator inherits ``set_fit_request`` & co. from scikit-learn; their docstrings
    point into scikit-learn's own documentation and say nothing about this package.
    """
    if _SKLEARN_PLUMBING.match(name):
        return True
    return None


def _skip_torch_module_members(app, what, name, obj, skip, options):
    """Leave torch's own ``nn.Module`` members out of the pages of this package's modules.

    Networks, fusions and task weightings are ``torch.nn.Module`` subclasses; their inherited
    ``add_module``, ``register_forward_hook`` & co. carry torch's docstrings (not numpydoc,
    nothing about this package). Members a class defines or overrides are kept.
    """
    torch = sys.modules.get("torch")
    if what == "class" and torch is not None and name in vars(torch.nn.Module):
        if getattr(torch.nn.Module, name, None) is obj:
            return True
    return None


def _list_registry_names(app, what, name, obj, options, lines):
    """A registry's page lists its names and their classes (a re-exported registry has no
    docstring of its own: its ``#:`` comment lives in the defining module)."""
    if what == "data":
        lines.extend(registry_lines(obj))


def _sklearn_docstring_refs(app, env, node, contnode):
    """Render scikit-learn's own cross-references as plain text in inherited docstrings.

    Methods inherited from scikit-learn (``set_output``, ``score``, ...) keep their
    docstrings, whose ``:ref:`` / ``:term:`` targets live in scikit-learn's documentation.
    Only references from docstrings *of scikit-learn objects* are let through; a broken
    reference in this package's own text is still an error.
    """
    source, _ = get_source_line(node)
    if node.get("reftype") in {"ref", "term"} and "docstring of sklearn." in (source or ""):
        return contnode
    return None


def _warn_undocumented(app):
    """A public name without a docstring gets an empty API page: make it a build error."""
    from sphinx.util import logging

    logger = logging.getLogger("sklearn_mtml.docs")
    for name in undocumented():
        logger.warning(f"{name} has no docstring: its API page would be empty")


def setup(app):
    app.connect("builder-inited", _warn_undocumented)
    app.connect("autodoc-skip-member", _skip_sklearn_plumbing)
    app.connect("autodoc-skip-member", _skip_torch_module_members)
    app.connect("autodoc-process-docstring", _list_registry_names)
    app.connect("missing-reference", _sklearn_docstring_refs)
