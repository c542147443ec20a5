"""Imports point one way: feeds <- schedules <- publishing / reminders <- web / cli, the shared
base under all of them, the composition root (service/services.py) only under web and cli."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# What each part may import besides itself. The shared base is every module at the root of
# service/ but the composition root; feeds/ knows nothing of service/.
BASE = "base"
ALLOWED: dict[str, set[str]] = {
    "feeds": set(),
    BASE: {"feeds"},
    "migrations": {"feeds", BASE},
    "schedules": {"feeds", BASE},
    "publishing": {"feeds", BASE, "schedules"},
    "reminders": {"feeds", BASE, "schedules"},
    "services": {"feeds", BASE, "schedules", "publishing", "reminders"},
    "web": {"feeds", BASE, "schedules", "publishing", "reminders", "services"},
    # The CLI serves the web app (`visitcal up`): it sits beside web, above it.
    "cli": {"feeds", BASE, "schedules", "publishing", "reminders", "services", "web"},
}
SUBSYSTEMS = {"schedules", "publishing", "reminders", "web", "cli", "migrations"}


def part_of(module: str) -> str | None:
    """The layer a dotted module name belongs to, or None outside visitcal (a library)."""
    names = module.split(".")
    if names[0] == "feeds":
        return "feeds"
    if names[0] != "service":
        return None
    if len(names) == 1:
        return BASE
    if names[1] in SUBSYSTEMS:
        return names[1]
    return "services" if names[1] == "services" else BASE


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(tree: ast.AST) -> list[tuple[int, str]]:
    """Every module an import statement names, with `from service import urls` as service.urls."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return found


def is_router(tree: ast.Module) -> bool:
    """A web module that declares its routes (`router = APIRouter(...)`)."""
    return any(
        isinstance(node, ast.Assign)
        and any(isinstance(t, ast.Name) and t.id == "router" for t in node.targets)
        for node in tree.body
    )


def violations(module: str, source: str, routers: set[str]) -> list[str]:
    tree = ast.parse(source)
    own = part_of(module)
    assert own is not None
    problems = []
    for line, name in imported(tree):
        target = part_of(name)
        if target is None or target == own:
            if module in routers and name in routers and name != module:
                problems.append(f"{module}:{line} router imports router {name}")
            continue
        if target not in ALLOWED[own]:
            problems.append(f"{module}:{line} ({own}) imports {name} ({target})")
    return sorted(set(problems))


def sources() -> dict[str, str]:
    files = [*sorted((ROOT / "service").rglob("*.py")), *sorted((ROOT / "feeds").rglob("*.py"))]
    return {module_name(path): path.read_text(encoding="utf-8") for path in files}


def routers(found: dict[str, str]) -> set[str]:
    return {
        name
        for name, source in found.items()
        if name.startswith("service.web.") and is_router(ast.parse(source))
    }


def test_no_module_imports_from_a_layer_above_it_or_a_sibling_router() -> None:
    found = sources()
    web_routers = routers(found)
    assert {"service.web.visits", "service.web.organizer"} <= web_routers
    problems = [p for name, source in found.items() for p in violations(name, source, web_routers)]
    assert problems == []


def test_the_check_sees_upward_imports_and_routers_importing_routers() -> None:
    web_routers = {"service.web.visits", "service.web.organizer"}
    upward = "from service.services import Services\nfrom service import urls\n"
    assert violations("service.schedules.editing", upward, web_routers) == [
        "service.schedules.editing:1 (schedules) imports service.services (services)",
        "service.schedules.editing:1 (schedules) imports service.services.Services (services)",
    ]
    assert violations("feeds.event", "import service.models\n", web_routers) == [
        "feeds.event:1 (feeds) imports service.models (base)"
    ]
    sideways = "from service.publishing.feed_store import FeedStore\n"
    assert violations("service.reminders.worker", sideways, web_routers)
    assert violations(
        "service.web.organizer", "from service.web.visits import get_visit\n", web_routers
    )
    assert (
        violations("service.web.pages", "from service.web.html import render\n", web_routers) == []
    )
