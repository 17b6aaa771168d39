"""The store's doors stay shut: ``recorder.store`` is the only way in, and only the store speaks SQLAlchemy.

Every import in the checkout is read with ``ast`` (function-local and ``TYPE_CHECKING`` imports included):

- outside ``recorder/store/``, nothing imports a store module (``recorder.store.log``, ...) or a name that
  ``recorder.store.__all__`` does not list. ``chain`` and ``migrate`` are listed on purpose: namespaces of pure
  functions, used qualified (``chain.genesis``, ``migrate.upgrade``).
- SQLAlchemy is imported only by ``recorder/store/`` and the alembic scripts (``migrations/``). Tests that must
  reach behind the store may use it too, and only these: ``tests/conftest.py`` (creates and empties databases),
  ``tests/store/`` (white-box tests of the store, which may also import its modules) and ``tests/compliance/``
  (tampering with the log, triggers and roles behind the store's back is what those tests are about), plus two
  files that check what the store cannot show: ``tests/cli/test_destructive.py`` (a database stamped with a future
  revision) and ``tests/recorder/test_scrub_rules.py`` (no secret in any column of any table).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import recorder.store

ROOT = Path(__file__).resolve().parents[1]
SOURCE_DIRS = ("recorder", "analytics", "migrations", "tests")
STORE = Path("recorder", "store")
STORE_TESTS = Path("tests", "store")
SQLALCHEMY_ALLOWED = (STORE, Path("migrations"), Path("tests", "conftest.py"), STORE_TESTS, Path("tests", "compliance"),
                      Path("tests", "cli", "test_destructive.py"), Path("tests", "recorder", "test_scrub_rules.py"))


def _python_files(root: Path) -> Iterator[Path]:
    """Every Python file of the checkout at ``root``, relative to it."""
    for name in SOURCE_DIRS:
        yield from sorted(path.relative_to(root) for path in (root / name).rglob("*.py"))


def _module_of(path: Path) -> str:
    parts = list(path.with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(root: Path, path: Path) -> Iterator[tuple[int, str, str | None]]:
    """(line, imported module, imported name or None) for every import in ``path``, relative ones resolved."""
    tree = ast.parse((root / path).read_text(encoding="utf-8"), str(path))
    package = _module_of(path) if path.name == "__init__.py" else _module_of(path).rpartition(".")[0]
    for node in sorted(ast.walk(tree), key=lambda node: getattr(node, "lineno", 0)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, None
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, module] if module else base)
            for alias in node.names:
                yield node.lineno, module, alias.name


def _inside(path: Path, *roots: Path) -> bool:
    return any(path == root or root in path.parents for root in roots)


def store_door_violations(root: Path = ROOT) -> list[str]:
    public = set(recorder.store.__all__)
    found = []
    for path in _python_files(root):
        if _inside(path, STORE, STORE_TESTS):
            continue
        for line, module, name in _imports(root, path):
            where = f"{path.as_posix()}:{line}"
            if module.startswith("recorder.store."):
                found.append(f"{where} imports the store module {module}; import from recorder.store")
            elif module == "recorder.store" and name is not None and name not in public:
                found.append(f"{where} imports {name} from recorder.store, which its __all__ does not list")
    return found


def sqlalchemy_violations(root: Path = ROOT) -> list[str]:
    found = []
    for path in _python_files(root):
        if _inside(path, *SQLALCHEMY_ALLOWED):
            continue
        for line, module, _name in _imports(root, path):
            if module == "sqlalchemy" or module.startswith("sqlalchemy."):
                found.append(f"{path.as_posix()}:{line} imports {module}; only recorder/store may")
    return found


def test_nothing_outside_the_store_imports_its_modules() -> None:
    assert store_door_violations() == []


def test_only_the_store_imports_sqlalchemy() -> None:
    assert sqlalchemy_violations() == []


def test_every_public_name_exists() -> None:
    missing = [name for name in recorder.store.__all__ if not hasattr(recorder.store, name)]
    assert missing == []
    assert len(set(recorder.store.__all__)) == len(recorder.store.__all__)


def test_the_checks_see_function_local_relative_and_submodule_imports(tmp_path: Path) -> None:
    """The checks catch what they are for (a check that sees nothing would pass too)."""
    for name in SOURCE_DIRS:
        (tmp_path / name).mkdir()
    (tmp_path / "recorder" / "replay").mkdir()
    (tmp_path / "recorder" / "replay" / "probe.py").write_text(
        "from recorder.store import EventStore\n"
        "def f():\n"
        "    from recorder.store.log import EventLog\n"
        "    import recorder.store.sql\n"
        "    from recorder.store import schema\n"
        "    from ..store.rows import EventRow\n"
        "    from sqlalchemy.engine import make_url\n"
        "    return EventStore, EventLog, recorder, schema, EventRow, make_url\n",
        encoding="utf-8",
    )
    (tmp_path / "tests" / "store").mkdir()
    (tmp_path / "tests" / "store" / "test_inside.py").write_text(
        "from recorder.store.log import sqlite_datetime\nimport sqlalchemy\n", encoding="utf-8"
    )
    where = "recorder/replay/probe.py"
    assert store_door_violations(tmp_path) == [
        f"{where}:3 imports the store module recorder.store.log; import from recorder.store",
        f"{where}:4 imports the store module recorder.store.sql; import from recorder.store",
        f"{where}:5 imports schema from recorder.store, which its __all__ does not list",
        f"{where}:6 imports the store module recorder.store.rows; import from recorder.store",
    ]
    assert sqlalchemy_violations(tmp_path) == [f"{where}:7 imports sqlalchemy.engine; only recorder/store may"]


NAMED_TUPLE_API = {"_make", "_asdict", "_fields", "_replace"}


def private_reach_ins(root: Path = ROOT) -> list[str]:
    """``x._name`` where ``x`` is not ``self``/``cls`` in the store's modules: each uses the others' public API
    (the ``Database`` in particular), never their private parts."""
    found = []
    for path in _python_files(root):
        if not _inside(path, STORE):
            continue
        tree = ast.parse((root / path).read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__")
                    and node.attr not in NAMED_TUPLE_API
                    and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))):
                found.append(f"{path.as_posix()}:{node.lineno} reaches into {ast.unparse(node)}")
    return found


def test_store_modules_use_each_others_public_api() -> None:
    assert private_reach_ins() == []


def test_the_private_check_sees_a_reach_in(tmp_path: Path) -> None:
    for name in SOURCE_DIRS:
        (tmp_path / name).mkdir()
    (tmp_path / "recorder" / "store").mkdir()
    (tmp_path / "recorder" / "store" / "leases.py").write_text(
        "def f(self, store, row):\n    self._ok()\n    row._asdict()\n    with store._write() as conn:\n"
        "        store._lock_log(conn)\n",
        encoding="utf-8",
    )
    assert private_reach_ins(tmp_path) == [
        "recorder/store/leases.py:4 reaches into store._write",
        "recorder/store/leases.py:5 reaches into store._lock_log",
    ]
