"""Let the plain-text formulas of kubo_sot's docstrings through reStructuredText unchanged.

The docstrings write formulas as plain text, readable in ``help()`` and in the source
(``|b(k)|``, ``E_l'(k)``, ``d^2k/(2pi)^2``, ``k_n*``).  In reStructuredText some of these
characters are markup: ``|x|`` is a substitution, a word ending in ``_`` a hyperlink
reference, a lone ``*`` starts emphasis.  Before numpydoc and autodoc parse a docstring,
this hook escapes exactly those characters outside of literal text (inline ````code````,
roles such as ``:func:`...```, ``::`` literal blocks and ``>>>`` examples), so that the
page shows the formula as written, and the docstrings stay plain text.  It also rejoins
role targets that a line wrap split after a dot, and resolves unqualified names
(``:class:`TightBindingModel``` where a module imports it) to the one documented object of
that name.
"""

import importlib
import re

# Spans left alone: inline literals, roles with their content, interpreted text,
# hyperlinks `text <url>`_, strong and emphasis that are complete on the line.
_PROTECTED = re.compile(
    r"``.+?``"                       # inline literal
    r"|:[\w:.+-]+:`[^`]+`"           # role
    r"|`[^`]+`_{0,2}"                # interpreted text / hyperlink reference
    r"|\*\*[^\s*](?:[^*]*[^\s*])?\*\*"  # strong
    r"|(?<![\w*])\*[^\s*](?:[^*]*[^\s*])?\*(?![\w*])"  # emphasis
)
# Characters that would be markup: | anywhere, * anywhere (outside the spans above), and
# _ that ends a word (a reference name_) or follows an opening bracket.
_MARKUP = re.compile(r"\||\*|(?<=[\w)\]'])_(?![\w])")


def escape_line(line):
    """``line`` with the reST markup characters of plain-text formulas escaped."""
    out, last = [], 0
    for match in _PROTECTED.finditer(line):
        out.append(_MARKUP.sub(lambda m: "\\" + m.group(0), line[last:match.start()]))
        out.append(match.group(0))
        last = match.end()
    out.append(_MARKUP.sub(lambda m: "\\" + m.group(0), line[last:]))
    return "".join(out)


# A role whose dotted target the line wrap split after a dot: ":func:`a.b.\n    c`".
_SPLIT_ROLE = re.compile(r":[\w:.+-]+:`~?[\w.]*\.$")
_ROLE_REST = re.compile(r"^(\s*)([\w.]*`)")


def join_split_roles(lines):
    """Rejoin, in place, role targets that a line break split after a dot."""
    for i in range(len(lines) - 1):
        rest = _ROLE_REST.match(lines[i + 1])
        if _SPLIT_ROLE.search(lines[i]) and rest:
            lines[i] += rest.group(2)
            lines[i + 1] = rest.group(1) + lines[i + 1][rest.end():].lstrip()
    return lines


def _indent(line):
    return len(line) - len(line.lstrip())


def escape_docstring(lines):
    """Escape, in place, every line of ``lines`` that is not literal text.

    An indented block after a blank line that no ``::`` introduces (the docstrings' way of
    displaying a formula) becomes a literal block, so that its alignment is kept and its
    deeper-indented continuation lines are not an "unexpected indentation".
    """
    join_split_roles(lines)
    literal_indent = None  # indentation of the paragraph that opened a literal block
    paragraph_indent, after_blank, opens_literal = 0, False, False
    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if not stripped:
            after_blank = True
            i += 1
            continue
        indent = _indent(line)
        if literal_indent is not None:
            if indent > literal_indent:
                i += 1
                continue
            literal_indent = None
        elif (after_blank and indent > paragraph_indent and not opens_literal
              and not stripped.startswith((">>>", ".. "))):
            # A display formula: make it a literal block ("::" alone renders nothing).
            lines[i:i] = [" " * paragraph_indent + "::", ""]
            literal_indent = paragraph_indent
            i += 3
            after_blank = False
            continue
        after_blank = False
        if stripped.startswith((">>>", "...", ".. ")):
            paragraph_indent, opens_literal = indent, stripped.endswith("::")
            if opens_literal:
                literal_indent = indent
            i += 1
            continue
        lines[i] = escape_line(line)
        paragraph_indent, opens_literal = indent, stripped.endswith("::")
        if opens_literal:
            literal_indent = indent
        i += 1
    return lines


def _process(app, what, name, obj, options, lines):
    escape_docstring(lines)


# What the hook must do (checked whenever the documentation is built): plain-text formulas
# escaped, literal text and markup left alone, display formulas made literal blocks.
_SELF_CHECK = [
    (["eps - |b(k)|, E_l'(k), k_n* and d^2k_ here"],
     ["eps - \\|b(k)\\|, E_l'(k), k_n\\* and d^2k\\_ here"]),
    (["``|x|`` :func:`f_` *Newton* **bold** `numpy <https://numpy.org>`_"],
     ["``|x|`` :func:`f_` *Newton* **bold** `numpy <https://numpy.org>`_"]),
    (["Text::", "", "    |x|_", "", ">>> a_ |b|"],
     ["Text::", "", "    |x|_", "", ">>> a_ |b|"]),
    (["As for :func:`~kubo_sot.models.wannier90.", "    from_wannier90`, the"],
     ["As for :func:`~kubo_sot.models.wannier90.from_wannier90`", "    , the"]),
    (["Summary.", "", "    H = |b|", "        + c", "", "After |b|."],
     ["Summary.", "", "::", "", "    H = |b|", "        + c", "", "After \\|b\\|."]),
]


def _self_check():
    for lines, expected in _SELF_CHECK:
        got = escape_docstring(list(lines))
        if got != expected:
            raise RuntimeError(f"plain_formulas: {lines!r} gave {got!r}, expected {expected!r}")


def resolve_short_name(app, env, node, contnode):
    """Resolve an unqualified Python target (``:class:`TightBindingModel``` in a module that
    imports it) to the one documented object of that name, if there is exactly one."""
    if node.get("refdomain") != "py" or "." in node.get("reftarget", ""):
        return None
    target = node["reftarget"]
    domain = env.get_domain("py")
    matches = sorted(name for name in domain.objects if name.rsplit(".", 1)[-1] == target)
    # One object documented under several names (kubo_sot.X and kubo_sot.models.x.X) counts
    # once: its name in the defining module, the longest.
    if len({id(_lookup(name)) for name in matches} - {id(None)}) != 1:
        return None
    name = max(matches, key=len)
    return domain.resolve_xref(env, node["refdoc"], app.builder, node["reftype"], name,
                               node, contnode)


def _lookup(dotted):
    """The Python object of a dotted name, or None."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        try:
            for attribute in parts[cut:]:
                obj = getattr(obj, attribute)
        except AttributeError:
            return None
        return obj
    return None


def setup(app):
    _self_check()
    app.connect("missing-reference", resolve_short_name)
    # Before numpydoc (priority 500), which parses the numpydoc sections.
    app.connect("autodoc-process-docstring", _process, priority=400)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
