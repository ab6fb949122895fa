"""What the distributions carry: the wheel is the package alone, the sdist the whole source tree.

The sdist and the wheel (built from that sdist, as a distro packager would) come from a copy of
the tree, without build isolation: the build backend comes with the test extra, so nothing is
downloaded and the checkout gets no build/ or egg-info. About ten seconds in all.
"""

from __future__ import annotations

import email.parser
import os
import shutil
import subprocess
import sys
import tarfile
import textwrap
import zipfile
from email.message import Message
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "django_order_monitor"

pytestmark = pytest.mark.slow

# Never source: left by tools and runs (MANIFEST.in leaves the same out of the sdist).
_NOT_SOURCE = shutil.ignore_patterns(
    ".git", "__pycache__", "*.py[cod]", "*.sqlite3", ".*cache", ".hypothesis", ".coverage*",
    ".tox", ".venv", ".ci-venv", "build", "dist", "*.egg-info",
)


def _not_source(directory: str, names: list[str]) -> set[str]:
    ignored = set(_NOT_SOURCE(directory, names))
    if Path(directory) == ROOT / "example_project":
        ignored.add("var")  # the demo's own virtualenv and databases
    return ignored


def _files_under(root: Path, folder: str) -> set[str]:
    return {path.relative_to(root).as_posix() for path in (root / folder).rglob("*") if path.is_file()}


class Dists:
    def __init__(self, source: Path, sdist: Path, wheel: Path):
        self.source = source
        with tarfile.open(sdist) as archive:
            top = archive.getnames()[0].split("/")[0]
            self.sdist_names = {name.removeprefix(f"{top}/") for name in archive.getnames()}
            self.sdist_metadata = _parse(archive.extractfile(f"{top}/PKG-INFO").read())
        with zipfile.ZipFile(wheel) as archive:
            self.wheel_names = set(archive.namelist())
            self.dist_info = next(name.split("/")[0] for name in self.wheel_names if ".dist-info/" in name)
            self.wheel_metadata = _parse(archive.read(f"{self.dist_info}/METADATA"))
            self.entry_points = archive.read(f"{self.dist_info}/entry_points.txt").decode()


def _parse(raw: bytes) -> Message:
    return email.parser.BytesParser().parsebytes(raw)


@pytest.fixture(scope="module")
def dists(tmp_path_factory) -> Dists:
    work = tmp_path_factory.mktemp("packaging")
    source, out = work / "source", work / "dist"
    shutil.copytree(ROOT, source, ignore=_not_source)
    result = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(source)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, (
        f"the build failed (the test extra brings build and setuptools: pip install -e '.[test]'):\n"
        f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    )
    (sdist,) = out.glob("*.tar.gz")
    (wheel,) = out.glob("*.whl")
    return Dists(source, sdist, wheel)


def test_the_wheel_carries_every_file_of_the_package(dists):
    missing = _files_under(dists.source, PACKAGE) - dists.wheel_names
    assert not missing, f"in the tree but not in the wheel: {sorted(missing)}"
    for package in ("engine", "providers", "providers/adapters", "shop", "testing", "testing/fake_znet",
                    "admin", "management", "management/commands", "migrations"):
        assert f"{PACKAGE}/{package}/__init__.py" in dists.wheel_names, package
    assert f"{PACKAGE}/py.typed" in dists.wheel_names
    assert f"{PACKAGE}/templates/order_monitor/admin/dashboard.html" in dists.wheel_names
    assert f"{PACKAGE}/static/order_monitor/admin.css" in dists.wheel_names
    assert any(name.startswith(f"{PACKAGE}/migrations/0001_") for name in dists.wheel_names)


@pytest.mark.parametrize("language", ["ar", "tr"])
def test_the_wheel_carries_the_translations_compiled(dists, language):
    """Django reads only the compiled catalog: a wheel without the .mo would show the admin in English."""
    for suffix in ("po", "mo"):
        assert f"{PACKAGE}/locale/{language}/LC_MESSAGES/django.{suffix}" in dists.wheel_names


def test_the_wheel_carries_nothing_but_the_package(dists):
    assert {name.split("/")[0] for name in dists.wheel_names} == {PACKAGE, dists.dist_info}
    assert f"{dists.dist_info}/licenses/LICENSE" in dists.wheel_names


def test_the_sdist_carries_the_tests_docs_example_project_and_benchmarks(dists):
    for folder in ("tests", "docs", "example_project", "benchmarks", PACKAGE):
        expected = _files_under(dists.source, folder)
        assert expected, folder
        missing = expected - dists.sdist_names
        assert not missing, f"in the tree but not in the sdist: {sorted(missing)}"
    for name in ("README.rst", "CHANGELOG.rst", "LICENSE", "pyproject.toml", "setup.py", "MANIFEST.in",
                 "runtests.py", "tox.ini", ".importlinter"):
        assert name in dists.sdist_names, name
    assert not [name for name in dists.sdist_names if "__pycache__" in name or name.endswith(".pyc")]


def _requirements(metadata: Message) -> dict[str, dict[str, Requirement]]:
    """The requirements each extra adds, by project name ("" holds the unconditional ones)."""
    extras = metadata.get_all("Provides-Extra")
    by_extra: dict[str, dict[str, Requirement]] = {extra: {} for extra in ["", *extras]}
    for line in metadata.get_all("Requires-Dist"):
        requirement = Requirement(line)
        marker, requirement.marker = requirement.marker, None
        for extra in [""] if marker is None else [e for e in extras if marker.evaluate({"extra": e})]:
            by_extra[extra][requirement.name.lower()] = requirement
    return by_extra


def test_the_metadata_states_the_licence_classifiers_and_extras(dists):
    for metadata in (dists.wheel_metadata, dists.sdist_metadata):
        assert metadata["License-Expression"] == "MIT"
        assert metadata.get_all("License-File") == ["LICENSE"]
        classifiers = metadata.get_all("Classifier")
        assert "Typing :: Typed" in classifiers
        assert "Framework :: Django :: 5.2" in classifiers
        assert not [c for c in classifiers if c.startswith("License ::")], "the licence expression replaces these"
        assert metadata["Requires-Python"] == ">=3.10"

    requirements = _requirements(dists.wheel_metadata)
    assert set(requirements) == {"", "redis", "postgres", "mysql", "metrics", "test", "browser"}
    assert set(requirements[""]) == {"django", "huey", "requests"}, "redis is an extra: SqliteHuey shops go without"
    assert set(requirements["redis"]) == {"redis"}
    assert set(requirements["postgres"]) == {"psycopg"}
    assert set(requirements["mysql"]) == {"mysqlclient"}
    assert set(requirements["browser"]) == {"playwright"}
    assert set(requirements["metrics"]) == {"prometheus-client"}, "prometheus-client is an extra: imported only when on"
    test = requirements["test"]
    assert {"pytest", "pytest-django", "hypothesis", "import-linter", "build", "setuptools"} <= set(test)
    assert test["django-order-monitor"].extras == {"postgres", "redis", "metrics"}, "the services pass and the metrics tests"
    assert "playwright" not in test, "browser tests have their own extra"
    assert "fake-znet = django_order_monitor.testing.fake_znet.__main__:main" in dists.entry_points


@pytest.mark.parametrize("library", ["redis", "prometheus_client"])
def test_every_module_imports_without_an_optional_library_installed(library):
    """A SqliteHuey shop installs no redis, a shop without metrics no prometheus-client:
    nothing in the package may import them at import time."""
    script = textwrap.dedent(
        """
        import importlib, pkgutil, sys

        sys.modules[LIBRARY] = None  # as if not installed: importing it raises ImportError
        import django

        django.setup()
        import django_order_monitor

        def fail(name):
            raise

        modules = list(pkgutil.walk_packages(django_order_monitor.__path__, "django_order_monitor.", onerror=fail))
        for module in modules:
            importlib.import_module(module.name)
        print(len(modules))
        """
    )
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "PYTHONPATH": path}
    result = subprocess.run(
        [sys.executable, "-c", script.replace("LIBRARY", repr(library))], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert int(result.stdout) > 50, "every module of the package, the old names' shims included"
