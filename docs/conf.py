"""Sphinx configuration of the kubo_sot documentation.

Build (warnings are errors, as in CI)::

    python -m sphinx -W --keep-going -b html docs docs/_build/html

The tutorial pages run the scripts of ``examples/`` during the build
(``docs/_ext/example_output.py``) and show what they print, so a page can never show output
that the code no longer gives.
"""

import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
# The package of this tree, not another installed copy.
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(DOCS / "_ext"))

import kubo_sot  # noqa: E402

project = "kubo_sot"
author = "the kubo_sot developers"
copyright = "2026, the kubo_sot developers"
release = kubo_sot.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "myst_parser",
    "example_output",
    "plain_formulas",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]
templates_path = ["_templates"]

# The tight-binding tutorial shows examples/tight_binding_honeycomb.py; until that example
# (and kubo_sot.TightBindingModel) exist, the page is left out of the build, and the
# toctree's reference to it is then not a warning.  Once the file is there, the page is
# built like every other and all its warnings count.
TIGHT_BINDING_EXAMPLE = ROOT / "examples" / "tight_binding_honeycomb.py"
suppress_warnings = []
if not TIGHT_BINDING_EXAMPLE.exists():
    exclude_patterns.append("tutorials/tight_binding.*")
    suppress_warnings.append("toc.excluded")

# Every internal cross-reference must resolve (nitpicky); names of other projects are
# plain text here because the build is offline (no intersphinx inventories).
nitpicky = True
nitpick_ignore_regex = [
    (r"py:.*", r"(numpy|np|scipy|xarray|dask|distributed|joblib|numba|matplotlib)(\..*)?"),
    # Private helpers are cited in docstrings for readers of the source, not documented.
    (r"py:.*", r"(.*\.)?_[a-z]\w*"),
]

autosummary_generate = True
autosummary_imported_members = False
autodoc_default_options = {"members": True, "member-order": "bysource"}
autodoc_typehints = "none"

numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
numpydoc_validation_checks = set()

myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence"]
myst_heading_anchors = 3

html_theme = "pydata_sphinx_theme"
html_title = f"kubo_sot {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
}
html_static_path = []
