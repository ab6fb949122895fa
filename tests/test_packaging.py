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
from packaging.version import Version

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
            entry_points = f"{self.dist_info}/entry_points.txt"
            self.entry_points = archive.read(entry_points).decode() if entry_points in self.wheel_names else ""


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
        urls = dict(url.split(", ", 1) for url in metadata.get_all("Project-URL"))
        assert set(urls) == {"Homepage", "Documentation", "Changelog", "Issues"}

    requirements = _requirements(dists.wheel_metadata)
    assert set(requirements) == {"", "redis", "postgres", "mysql", "metrics", "test", "browser", "typecheck"}
    assert set(requirements[""]) == {"django", "huey", "requests"}, "redis is an extra: SqliteHuey shops go without"
    assert set(requirements["redis"]) == {"redis"}
    assert set(requirements["postgres"]) == {"psycopg"}
    assert set(requirements["mysql"]) == {"mysqlclient"}
    assert set(requirements["browser"]) == {"playwright"}
    assert set(requirements["metrics"]) == {"prometheus-client"}, "prometheus-client is an extra: imported only when on"
    assert {"django-stubs", "types-requests"} <= set(requirements["typecheck"])
    test = requirements["test"]
    assert {"pytest", "pytest-django", "hypothesis", "import-linter", "build", "setuptools"} <= set(test)
    assert test["django-order-monitor"].extras == {"postgres", "redis", "metrics"}, "the services pass and the metrics tests"
    assert "playwright" not in test, "browser tests have their own extra"
    # The fake provider is run as ``python -m``: installing the monitor puts no command on the PATH.
    assert "console_scripts" not in dists.entry_points
    assert "fake-znet" not in dists.entry_points


def test_the_oldest_ci_set_installs_exactly_the_claimed_floors(dists):
    """.ci/floors.txt (the matrix's oldest set) pins each dependency at pyproject's lower bound."""
    pins = {}
    for line in (ROOT / ".ci" / "floors.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, version = line.split("==")
            pins[name.lower()] = version
    requirements = _requirements(dists.wheel_metadata)
    floors = {}
    for extra in ("", "redis", "postgres", "metrics"):
        for name, requirement in requirements[extra].items():
            (bound,) = [spec.version for spec in requirement.specifier if spec.operator == ">="]
            floors[name] = bound
            if "binary" in requirement.extras:
                floors[f"{name}-binary"] = bound
    # Versions compared as versions: "5" in pyproject is the release floors.txt spells "5.0.0".
    assert {name: Version(v) for name, v in pins.items()} == {name: Version(v) for name, v in floors.items()}


def _tested_sets() -> tuple[set[str], set[str]]:
    """(Python versions, Django versions) of tox.ini's test environments: py310-dj52-floor -> 3.10, 5.2."""
    import configparser

    tox = configparser.ConfigParser()
    tox.read(ROOT / "tox.ini")
    pythons, djangos = set(), set()
    for env in tox["tox"]["envlist"].split():
        factors = env.split("-")
        if factors[0].startswith("py3"):
            pythons.add(f"3.{factors[0][3:]}")
            djangos.update(f"{f[2]}.{f[3:]}" for f in factors if f.startswith("dj"))
    return pythons, djangos


def test_the_classifiers_name_exactly_the_tested_versions(dists):
    pythons, djangos = _tested_sets()
    assert (pythons, djangos) == ({"3.10", "3.11", "3.12", "3.13"}, {"5.2", "6.0", "6.1"})
    classifiers = dists.wheel_metadata.get_all("Classifier")
    assert {c.rsplit(" :: ", 1)[1] for c in classifiers if c.startswith("Programming Language :: Python :: 3.")} == pythons
    assert {c.rsplit(" :: ", 1)[1] for c in classifiers if c.startswith("Framework :: Django :: ")} == djangos
    # .ci/matrix runs the sets other than the main one (.ci/run: the system Python, Django 5.2).
    matrix = (ROOT / ".ci" / "matrix").read_text()
    assert all(f"={version}" in matrix for version in pythons - {"3.11"})


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


def test_the_readmes_links_work_on_the_package_index():
    """The index shows README.rst alone: every link is absolute, on the project's Homepage, to a file that exists."""
    import re

    # (tomllib is 3.11+; the oldest supported set runs 3.10)
    home = re.search(r'^Homepage = "([^"]+)"', (ROOT / "pyproject.toml").read_text(), re.M).group(1)
    targets = re.findall(r"`[^`<]+? <([^>]+)>`_", (ROOT / "README.rst").read_text())
    assert targets, "the README links to its docs"
    relative = [target for target in targets if not target.startswith(("https://", "http://"))]
    assert relative == [], "relative links break on the package index"
    for target in targets:
        if target.startswith(home + "/"):
            path = re.sub(r"^(blob|tree)/main/", "", target[len(home) + 1 :])
            assert (ROOT / path).exists(), f"{target} points at no file of the repository"
