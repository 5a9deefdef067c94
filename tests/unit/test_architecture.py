"""The layout's rules, read from the source (an AST walk, nothing imported)."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRODUCT_PACKAGES = ("bridge", "core", "workers")
STAND_INS = "sandbox"
DEMO = Path("bridge/demo.py")


def _product_modules() -> list[Path]:
    return sorted(path.relative_to(ROOT) for package in PRODUCT_PACKAGES for path in (ROOT / package).rglob("*.py"))


def _imported_names(node: ast.AST) -> list[str]:
    """The modules an import statement (or an ``importlib.import_module("...")`` /
    ``__import__("...")`` call with a literal name) brings in."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
        return [node.module]
    if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) \
            and isinstance(node.args[0].value, str):
        function = node.func
        name = function.attr if isinstance(function, ast.Attribute) else getattr(function, "id", "")
        if name in ("import_module", "__import__"):
            return [node.args[0].value]
    return []


def _is_stand_in(module: str) -> bool:
    return module == STAND_INS or module.startswith(STAND_INS + ".")


def _stand_in_imports(path: Path) -> list[tuple[int, str, bool]]:
    """(line, module, at module level) for every import of the stand-ins in the file."""
    tree = ast.parse((ROOT / path).read_text(), filename=str(path))
    module_level = {id(node) for node in tree.body}
    for node in tree.body:  # `if TYPE_CHECKING:` / `try:` blocks at the top level count as module level
        if isinstance(node, (ast.If, ast.Try)):
            module_level.update(id(child) for child in ast.walk(node))
    return [(node.lineno, name, id(node) in module_level)
            for node in ast.walk(tree) for name in _imported_names(node) if _is_stand_in(name)]


def test_the_product_does_not_import_the_stand_ins():
    modules = _product_modules()
    assert len(modules) > 30 and DEMO in modules  # the walk sees the product
    found = {f"{path}:{line} imports {name}" for path in modules if path != DEMO
             for line, name, _ in _stand_in_imports(path)}
    assert not found, "only bridge/demo.py may use the stand-ins (sandbox/):\n" + "\n".join(sorted(found))


def test_the_demo_imports_the_stand_ins_only_when_it_runs():
    imports = _stand_in_imports(DEMO)
    assert imports, "bridge/demo.py plays its exchange against the stand-ins"
    eager = [f"{DEMO}:{line} imports {name}" for line, name, module_level in imports if module_level]
    assert not eager, "import the stand-ins inside the demo's functions, so that " \
                      "`import bridge.demo` (the CLI) never loads them:\n" + "\n".join(eager)
