"""The shape of the code: who may import whom, no import cycles, files a reader can hold, one
architecture table that loading, training and the server all read."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("models", "server")
LIBRARY_OUTSIDE = ("models.commands", "models.training")  # under models/, but not the library
MAX_LINES = 500
MAX_ROUTER_LINES = 200


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def project_modules() -> dict[str, Path]:
    return {module_name(p): p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")}


def imports_of(path: Path, modules: dict[str, Path]) -> set[str]:
    """Project modules that ``path`` imports anywhere (top level, inside functions, under TYPE_CHECKING)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        else:
            continue
        for name in names:
            while name and name not in modules:  # "models.config.GPTConfig" → "models.config"
                name = name.rpartition(".")[0]
            if name:
                found.add(name)
    return found


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    modules = project_modules()
    return {name: imports_of(path, modules) - {name} for name, path in modules.items()}


def in_package(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def test_nothing_under_models_imports_the_server(graph):
    wrong = {m: sorted(i for i in deps if in_package(i, "server")) for m, deps in graph.items()}
    wrong = {m: d for m, d in wrong.items() if in_package(m, "models") and d}
    assert not wrong, f"the model library imports the server: {wrong}"


def test_the_library_imports_no_command(graph):
    def is_library(name: str) -> bool:
        return in_package(name, "models") and not any(in_package(name, p) for p in LIBRARY_OUTSIDE)

    wrong = {
        m: sorted(i for i in deps if any(in_package(i, p) for p in LIBRARY_OUTSIDE))
        for m, deps in graph.items()
        if is_library(m)
    }
    wrong = {m: d for m, d in wrong.items() if d}
    assert not wrong, f"library modules import commands or training: {wrong}"


def test_no_import_cycles(graph):
    """Depth-first search over every import, lazy ones included; a package's own ``__init__``
    re-exporting its modules is not a cycle through them."""

    def edges(m: str) -> set[str]:
        return {d for d in graph[m] if not in_package(m, d)}  # a module importing its parent package

    state: dict[str, str] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(m: str) -> None:
        state[m] = "open"
        stack.append(m)
        for d in sorted(edges(m)):
            if state.get(d) == "open":
                cycles.append([*stack[stack.index(d) :], d])
            elif d not in state:
                visit(d)
        stack.pop()
        state[m] = "done"

    for m in sorted(graph):
        if m not in state:
            visit(m)
    assert not cycles, "import cycles: " + "; ".join(" → ".join(c) for c in cycles)


def test_no_python_file_is_too_long():
    files = [p for pkg in (*PACKAGES, "tests", "scripts") for p in (ROOT / pkg).rglob("*.py")]
    long = {str(p.relative_to(ROOT)): n for p in files if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not long, f"files over {MAX_LINES} lines: {long}"


def test_no_router_is_too_long():
    routers = (ROOT / "server" / "routers").glob("*.py")
    long = {p.name: n for p in routers if (n := len(p.read_text().splitlines())) > MAX_ROUTER_LINES}
    assert not long, f"routers over {MAX_ROUTER_LINES} lines: {long}"


def test_every_architecture_builds_on_both_backends_from_the_table():
    """An entry is all it takes: the table's config, initialisation and twins make a working model
    whose two twins agree."""
    from models.architectures import ARCHITECTURES, BACKENDS

    tiny = {
        "gpt": {"vocab_size": 11, "block_size": 8, "n_layer": 1, "n_head": 2, "n_embd": 8},
        "lstm": {"vocab_size": 11, "block_size": 8, "n_layer": 1, "n_embd": 8, "n_hidden": 8},
        "encoder": {"vocab_size": 11, "block_size": 8, "n_layer": 1, "n_head": 2, "n_embd": 8},
        "encoder-decoder": {"src_vocab_size": 11, "tgt_vocab_size": 11, "n_head": 2, "n_embd": 8},
    }
    assert set(tiny) == set(ARCHITECTURES), "a new architecture needs a tiny config here"
    ids = [[1, 2, 3, 4]]
    for name, arch in ARCHITECTURES.items():
        config = arch.config(**tiny[name])
        params = arch.init_params(config, 0)
        assert arch.weight_problems(config, {k: v.shape for k, v in params.items()}) == ""
        assert arch.num_params(config) == sum(v.size for v in params.values())
        twins = [arch.build(config, params, backend) for backend in BACKENDS]
        args = (ids, ids) if arch.kind == "seq2seq" else (ids,)
        out = [
            np.asarray(t(*args).detach() if b == "torch" else t(*args))
            for t, b in zip(twins, BACKENDS, strict=True)
        ]
        np.testing.assert_allclose(out[0], out[1], atol=1e-5, err_msg=name)
