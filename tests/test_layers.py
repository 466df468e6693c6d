"""The package's layers, read from its source: models give physics only, kernels are pure
array code, integrators own the k-space strategies, observables assemble; no module imports
one of a higher layer, and no import circle exists anywhere (issue 17).  Every import
counts, also those inside functions (a lazy import hides a circle, it does not remove it)."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "kubo_sot"
# Lowest first; a module may import its own layer and those below.
LAYERS = ("models", "kernels", "integrate", "observables")


def module_name(path):
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path):
    """Modules of kubo_sot that ``path`` imports (absolute names)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.startswith("kubo_sot"))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            elif node.module and node.module.startswith("kubo_sot"):
                target = node.module
            else:
                continue
            # "from . import x" names a submodule x where one exists.
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                out.add(sub if (PACKAGE.parent / Path(*sub.split("."))).with_suffix(".py")
                        .exists() else target)
    out.discard(name)
    return out


GRAPH = {module_name(p): imports(p) for p in PACKAGE.rglob("*.py")}


def layer(name):
    parts = name.split(".")
    return LAYERS.index(parts[1]) if len(parts) > 1 and parts[1] in LAYERS else None


def test_the_graph_is_read():
    # The parser sees the imports it must see (guards the tests below against reading
    # nothing): response dispatches to the lattice and disorder modules.
    response = GRAPH["kubo_sot.observables.response"]
    assert "kubo_sot.observables.lattice_response" in response
    assert "kubo_sot.observables.disordered_response" in response
    assert "kubo_sot.integrate.kspace" in response


@pytest.mark.parametrize("name", sorted(n for n in GRAPH if layer(n) is not None))
def test_no_import_of_a_higher_layer(name):
    higher = sorted(t for t in GRAPH[name] if layer(t) is not None and layer(t) > layer(name))
    assert not higher, f"{name} imports {higher}"


def test_no_import_circle():
    state, cycles = {}, []

    def visit(node, path):
        state[node] = "open"
        for target in sorted(GRAPH.get(node, ())):
            if target.startswith("kubo_sot.") and target.count(".") >= 1:
                if state.get(target) == "open":
                    cycles.append(path[path.index(target):] + [target])
                elif target not in state:
                    visit(target, path + [target])
        state[node] = "done"

    for node in sorted(GRAPH):
        if node not in state:
            visit(node, [node])
    # The package's __init__ re-exports from everything below it: the edges back to it
    # (a module importing kubo_sot for __version__) are not circles of the layers.
    cycles = [c for c in cycles if "kubo_sot" not in c]
    assert not cycles, "import circles: " + "; ".join(" -> ".join(c) for c in cycles)
