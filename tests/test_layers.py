"""Imports only go downward (ARCHITECTURE.md, "Layers"): checked on the source, module by module."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "omnieval"

# layer -> the omnieval subpackages it must never import
FORBIDDEN = {
    "media": {"models", "scoring", "benchmarks", "runner", "report", "cli", "api"},
    "models": {"benchmarks", "runner", "report", "cli", "api", "scoring"},
    "scoring": {"models", "benchmarks", "runner", "report", "cli", "api"},
    "benchmarks": {"runner", "report", "cli", "api"},
    "runner": {"report", "cli", "api"},
    "report": {"cli", "api"},
}


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def test_no_module_imports_a_layer_above_it() -> None:
    violations = []
    for layer, forbidden in FORBIDDEN.items():
        for path in sorted((PACKAGE / layer).rglob("*.py")):
            for module in _imports(path):
                parts = module.split(".")
                if parts[0] == "omnieval" and len(parts) > 1 and parts[1] in forbidden:
                    violations.append(f"{path.relative_to(PACKAGE)} imports {module}")
    assert not violations, "\n".join(violations)


def test_heavy_optional_dependencies_are_not_imported_at_module_level() -> None:
    heavy = {"torch", "transformers", "google", "pyroomacoustics", "ray", "cv2", "librosa"}
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text())
        for node in tree.body:  # module level only; lazy imports inside functions are fine
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in heavy]
    assert not offenders, offenders
