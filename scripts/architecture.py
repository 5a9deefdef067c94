"""The layout of a source tree as a Markdown section: packages with their modules and
line counts, the largest modules, and the import graph between packages (built with
grimp, import-linter's graph library), with the layer rules of issue 13 checked.

    python -m scripts.architecture [ROOT] [--title TITLE]

ROOT (default: the current directory) is a checkout of twinbridge, e.g. a worktree of an
older commit (`git worktree add /tmp/before fe987de`). The top-level packages analysed
are its directories with an ``__init__.py``, except tests, benchmarks and scripts.
docs/architecture.md ("Layout before and after") holds its output for two commits.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

NOT_PRODUCT_DIRS = frozenset({"tests", "benchmarks", "scripts"})
KERNEL, ADAPTERS, WORKERS, STAND_INS = "core", "bridge", "workers", "sandbox"
# Entry points allowed to reach the stand-ins (lazily) and to start workers.
DEMO, CLI = "bridge.demo", "bridge.cli"
LARGEST = 12


@dataclass(frozen=True)
class Module:
    name: str  # dotted, e.g. "bridge.telegram.adapter"; a package is its __init__
    package: str  # the package it belongs to (itself for an __init__)
    lines: int


def top_level_packages(root: Path) -> list[str]:
    return sorted(
        p.name for p in root.iterdir() if p.is_dir() and (p / "__init__.py").exists() and p.name not in NOT_PRODUCT_DIRS
    )


def modules_of(root: Path, packages: list[str]) -> list[Module]:
    found = []
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            is_init = parts[-1] == "__init__"
            name = ".".join(parts[:-1] if is_init else parts)
            found.append(
                Module(
                    name, name if is_init else ".".join(parts[:-1]), len(path.read_text(encoding="utf-8").splitlines())
                )
            )
    return found


def import_pairs(root: Path, packages: list[str]) -> set[tuple[str, str]]:
    """(importer, imported) module pairs inside the analysed packages, every import
    statement counted wherever it is (functions included)."""
    import grimp

    sys.path.insert(0, str(root))
    graph = grimp.build_graph(*packages, cache_dir=None)
    return {
        (module, imported) for module in graph.modules for imported in graph.find_modules_directly_imported_by(module)
    }


def _commit(root: Path) -> str:
    try:
        return subprocess.run(
            ["git", "-C", str(root), "log", "-1", "--format=%h %cs"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""  # not a git checkout


def _top(name: str) -> str:
    return name.split(".")[0]


def _listing(modules: list[Module], package: str) -> str:
    own = sorted((m for m in modules if m.package == package), key=lambda m: -m.lines)
    return ", ".join(f"{(m.name[len(package) + 1 :] or '__init__')} {m.lines:,}" for m in own)


def report(root: Path, title: str) -> str:
    packages = top_level_packages(root)
    modules = modules_of(root, packages)
    package_of = {m.name: m.package for m in modules}
    pairs = {(a, b) for a, b in import_pairs(root, packages) if a in package_of and b in package_of}
    total = sum(m.lines for m in modules)
    commit = _commit(root)
    out = [
        f"#### {title}",
        "",
        (f"At {commit}: " if commit else "")
        + f"{len(modules)} modules, {total:,} lines in "
        + ", ".join(f"`{p}/`" for p in packages)
        + ".",
        "",
    ]

    out += ["| package | modules | lines | its modules, largest first (lines) |", "|---|---:|---:|---|"]
    by_package: dict[str, list[Module]] = defaultdict(list)
    for module in modules:
        by_package[module.package].append(module)
    for package in sorted(by_package):
        own = by_package[package]
        out.append(f"| `{package}` | {len(own)} | {sum(m.lines for m in own):,} | {_listing(modules, package)} |")
    out.append("")

    out += [
        "Largest modules: "
        + ", ".join(f"`{m.name}` {m.lines:,}" for m in sorted(modules, key=lambda m: -m.lines)[:LARGEST])
        + ".",
        "",
    ]

    # Package graph: which package's modules import which other package's (count of module pairs).
    edges: Counter[tuple[str, str]] = Counter()
    for importer, imported in pairs:
        a, b = package_of[importer], package_of[imported]
        if a != b:
            edges[(a, b)] += 1
    out += [
        "Imports between packages (importing package → imported packages, with the number of "
        "module-to-module imports):",
        "",
    ]
    for package in sorted(by_package):
        targets = sorted(((b, n) for (a, b), n in edges.items() if a == package), key=lambda t: (-t[1], t[0]))
        if targets:
            out.append(f"- `{package}` → " + ", ".join(f"`{b}` {n}" for b, n in targets))
    out.append("")

    top_edges: Counter[tuple[str, str]] = Counter()
    for importer, imported in pairs:
        if _top(importer) != _top(imported):
            top_edges[(_top(importer), _top(imported))] += 1
    out += ["| imports of → | " + " | ".join(f"`{p}`" for p in packages) + " |", "|---|" + "---:|" * len(packages)]
    for a in packages:
        out.append(
            f"| `{a}` | " + " | ".join("·" if a == b else str(top_edges.get((a, b), 0) or "–") for b in packages) + " |"
        )
    out += ["", *layer_findings(packages, list(package_of), pairs), ""]
    return "\n".join(out)


def _role(module: str) -> str:
    if STAND_INS in module.split("."):
        return "stand-ins"
    return {KERNEL: "kernel", ADAPTERS: "adapters", WORKERS: "workers"}.get(_top(module), _top(module))


def _summary(crossings: list[tuple[str, str]]) -> str:
    if not crossings:
        return "none"
    if len(crossings) <= 6:
        return f"{len(crossings)}: " + ", ".join(f"`{a}` → `{b}`" for a, b in sorted(crossings))
    importers = {a for a, _ in crossings}
    targets = Counter(b for _, b in crossings)
    return f"{len(crossings)} module imports from {len(importers)} modules, into " + ", ".join(
        f"`{b}` {n}" for b, n in sorted(targets.items(), key=lambda t: (-t[1], t[0]))
    )


def layer_findings(packages: list[str], modules: list[str], pairs: set[tuple[str, str]]) -> list[str]:
    """The rules of issue 13: the kernel imports no adapter, worker or stand-in; workers
    import no adapter; adapters reach workers only from the CLI (the composition root that
    starts them); the stand-ins are reached only from the demo."""

    def crossing(src: str, dst: str, allowed: tuple[str, ...] = ()) -> list[tuple[str, str]]:
        return [(a, b) for a, b in pairs if _role(a) == src and _role(b) == dst and a not in allowed]

    lines = ["Layers:"]
    homes = {".".join(m.split(".")[: m.split(".").index(STAND_INS) + 1]) for m in modules if _role(m) == "stand-ins"}
    inside = sorted(home for home in homes if home != STAND_INS)
    if inside:
        lines.append(f"- the stand-ins live inside the product: {', '.join(f'`{h}`' for h in inside)}")
    if KERNEL not in packages:
        lines.append(
            f"- no kernel package: the shared modules live in `{ADAPTERS}/`; "
            f"`{ADAPTERS}` → `{WORKERS}` {len(crossing('adapters', 'workers'))} and "
            f"`{WORKERS}` → `{ADAPTERS}` {len(crossing('workers', 'adapters'))} module imports"
        )
    rules = [
        (
            f"kernel → adapters, workers or stand-ins (`{KERNEL}` imports none of them)",
            crossing("kernel", "adapters") + crossing("kernel", "workers") + crossing("kernel", "stand-ins"),
        ),
        (f"workers → adapters (`{WORKERS}` imports no `{ADAPTERS}` module)", crossing("workers", "adapters")),
        (
            f"adapters → workers other than from `{CLI}` (the composition root that starts them)",
            crossing("adapters", "workers", allowed=(CLI,)),
        ),
        (
            f"product → stand-ins other than from `{DEMO}`",
            crossing("adapters", "stand-ins", allowed=(DEMO,))
            + crossing("workers", "stand-ins")
            + crossing("kernel", "stand-ins"),
        ),
    ]
    for rule, violations in rules:
        if rule.startswith("kernel") and KERNEL not in packages:
            continue
        lines.append(f"- {rule}: {_summary(violations)}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("root", nargs="?", default=".", type=Path)
    parser.add_argument("--title", default="Layout")
    args = parser.parse_args(argv)
    print(report(args.root.resolve(), args.title))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
