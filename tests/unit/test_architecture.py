"""The layout's rules, read from the source (an AST walk, nothing of ours imported): the
stand-ins stay out of the product; the kernel (`core/`) imports neither the adapters
(`bridge/`) nor the workers (`workers/`), the workers import no adapter (import-linter checks
the same in CI); only the storage layer (`core/storage/`) writes Lua or names a Redis key, and
outside the kernel no module sends Redis a command itself."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import redis
import redis.asyncio

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
    if (
        isinstance(node, ast.Call)
        and node.args
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    ):
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
    return [
        (node.lineno, name, id(node) in module_level)
        for node in ast.walk(tree)
        for name in _imported_names(node)
        if _is_stand_in(name)
    ]


def test_the_product_does_not_import_the_stand_ins():
    modules = _product_modules()
    assert len(modules) > 30 and DEMO in modules  # the walk sees the product
    found = {
        f"{path}:{line} imports {name}" for path in modules if path != DEMO for line, name, _ in _stand_in_imports(path)
    }
    assert not found, "only bridge/demo.py may use the stand-ins (sandbox/):\n" + "\n".join(sorted(found))


def test_the_demo_imports_the_stand_ins_only_when_it_runs():
    imports = _stand_in_imports(DEMO)
    assert imports, "bridge/demo.py plays its exchange against the stand-ins"
    eager = [f"{DEMO}:{line} imports {name}" for line, name, module_level in imports if module_level]
    assert not eager, (
        "import the stand-ins inside the demo's functions, so that "
        "`import bridge.demo` (the CLI) never loads them:\n" + "\n".join(eager)
    )


# -- the kernel and its storage layer ----------------------------------------------------
PACKAGES = ("core", "bridge", "workers", "sandbox")


def _modules(*packages: str) -> dict[str, ast.Module]:
    found = {}
    for package in packages:
        for path in sorted((ROOT / package).rglob("*.py")):
            found[path.relative_to(ROOT).as_posix()] = ast.parse(path.read_text(encoding="utf-8"), str(path))
    return found


def _imported(path: str, tree: ast.Module) -> set[str]:
    """The top-level packages a module imports (relative imports resolved)."""
    here = path.split("/")[:-1]
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[: len(here) - (node.level - 1)] if node.level > 1 else here
                names.add(base[0] if base else (node.module or "").split(".")[0])
            else:
                names.add((node.module or "").split(".")[0])
    return names


def test_the_kernel_imports_neither_adapters_nor_workers():
    offenders = {
        path: sorted(_imported(path, tree) & {"bridge", "workers", "sandbox"})
        for path, tree in _modules("core").items()
    }
    assert {path: names for path, names in offenders.items() if names} == {}


def test_workers_import_no_adapter():
    offenders = {
        path: sorted(_imported(path, tree) & {"bridge", "sandbox"}) for path, tree in _modules("workers").items()
    }
    assert {path: names for path, names in offenders.items() if names} == {}


def _strings(tree: ast.Module):
    """Every string constant of a module but its docstrings (which may quote Lua)."""
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        and node.body
        and isinstance(node.body[0], ast.Expr)
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            yield node


def test_lua_lives_in_the_storage_layer_only():
    offenders = sorted(
        {
            path
            for path, tree in _modules(*PACKAGES).items()
            if not path.startswith("core/storage/")
            for node in _strings(tree)
            if "redis.call(" in node.value
        }
    )
    assert offenders == []
    stray = [
        p.relative_to(ROOT).as_posix()
        for package in PACKAGES
        for p in (ROOT / package).rglob("*.lua")
        if not p.is_relative_to(ROOT / "core/storage/scripts")
    ]
    assert stray == []


_PREFIX = re.compile(r"(^|\.|_)prefix$")


def _formats_a_key(node: ast.JoinedStr) -> bool:
    """An f-string starting with the key prefix: ``f"{self._prefix}stats"``."""
    first = node.values[0] if node.values else None
    return isinstance(first, ast.FormattedValue) and bool(_PREFIX.search(ast.unparse(first.value)))


# Modules that still build a key by hand, and why.
KEYS_BY_HAND = {}


def test_keys_are_named_by_the_storage_layer_only():
    found = {}
    for path, tree in _modules(*PACKAGES).items():
        if path.startswith("core/storage/"):
            continue
        lines = [node.lineno for node in ast.walk(tree) if isinstance(node, ast.JoinedStr) and _formats_a_key(node)]
        if lines:
            found[path] = lines
    assert sorted(found) == sorted(KEYS_BY_HAND), found


# Redis commands as redis-py names them. Those that are also everyday method names (a
# dict's get, a set's add, a hash's digest) count only on something named like a client
# or a pipeline; opening and closing a connection is not storage.
_COMMANDS = (
    {name for name in dir(redis.Redis) if not name.startswith("_")}
    | {name for name in dir(redis.asyncio.Redis) if not name.startswith("_")}
    | {"execute"}
)
_COMMANDS -= {
    "ping",
    "close",
    "aclose",
    "initialize",
    "from_url",
    "from_pool",
    "client",
    "connection",
    "connection_pool",
    "get_connection_kwargs",
    "get_encoder",
    "get_retry",
    "set_retry",
    "lock",
    "pubsub",
    "monitor",
    "transaction",
    "single_connection_client",
    "set_response_callback",
    "response_callbacks",
    "auto_close_connection_pool",
    "load_external_module",
    "digest",
    "json",
    "ft",
    "ts",
    "bf",
    "cf",
    "cms",
    "tdigest",
    "topk",
    "graph",
    "vset",
}
_EVERYDAY = (
    set(dir(dict))
    | set(dir(set))
    | set(dir(list))
    | set(dir(str))
    | {
        "get",
        "set",
        "delete",
        "exists",
        "keys",
        "type",
        "append",
        "copy",
        "move",
        "sort",
        "time",
        "echo",
        "info",
        "publish",
        "execute",
        "rename",
        "dump",
        "restore",
        "watch",
        "scan",
        "expire",
        "incr",
        "decr",
        "save",
        "wait",
        "role",
        "reset",
        "select",
        "touch",
        "ttl",
        "register_script",
        "pipeline",
        "command",
    }
)
_CLIENT = re.compile(r"(^|\.|_)(redis|pipe|client|write|read|begin|finish|marks)$")

# Modules outside the kernel that still send Redis commands themselves, and why.
RAW_REDIS = {
    "workers/leases.py": "renews kombu's own unacked index through kombu's channel client (a Celery bootstep): "
    "kombu's layout, pinned and checked by tests/integration/test_kombu_layout.py",
}


def _redis_calls(tree: ast.Module) -> list[str]:
    calls = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in _COMMANDS:
            receiver = ast.unparse(node.func.value)
            if node.func.attr not in _EVERYDAY or _CLIENT.search(receiver):
                calls.append(f"{node.lineno}: {receiver}.{node.func.attr}")
    return calls


def test_only_the_kernel_sends_redis_commands():
    found = {path: calls for path, tree in _modules("bridge", "workers").items() if (calls := _redis_calls(tree))}
    assert sorted(found) == sorted(RAW_REDIS), found


def test_the_redis_call_finder_finds_them():
    # A test that cannot fail proves nothing: the finder sees each kind of call it must.
    tree = ast.parse(
        "self._redis.hset(k, f, v)\npipe.xadd(s, {})\nredis.get(k)\nclient.zadd(k, {})\n"
        "marks.set(k, 1)\nvalues.get(k)\nhashlib.sha256(b'').digest()\nawait redis.aclose()\n"
    )
    assert [call.split(": ")[1] for call in _redis_calls(tree)] == [
        "self._redis.hset",
        "pipe.xadd",
        "redis.get",
        "client.zadd",
        "marks.set",
    ]
