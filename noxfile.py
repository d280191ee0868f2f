"""Checks for the cookbook workspace. `uv run nox` runs them all; `-s NAME` runs one.

Each package is installed alone into a fresh environment from the lock file and
tested there, so a package that silently leans on an outer one fails here.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import nox

nox.options.default_venv_backend = "uv"
nox.options.reuse_existing_virtualenvs = False
nox.options.error_on_missing_interpreters = True

ROOT = Path(__file__).parent
PACKAGES = ["runtime", "recipes", "adapters", "cli"]
OUTER = {
    "runtime": ["cookbook_recipes", "cookbook_adapters", "cookbook_cli"],
    "recipes": ["cookbook_adapters", "cookbook_cli"],
    "adapters": ["cookbook_recipes", "cookbook_cli"],
    "cli": [],
}
EXTRAS = {"adapters": ["--all-extras"], "cli": ["--extra", "deploy", "--extra", "inspect", "--extra", "hf"]}


def _sync(session: nox.Session, *args: str) -> None:
    """Install exactly what the lock file says into this session's venv."""
    env = {"UV_PROJECT_ENVIRONMENT": str(session.virtualenv.location)}
    session.run_install("uv", "sync", "--locked", "--no-dev", *args, env=env, silent=True)


def _assert_not_importable(session: nox.Session, modules: list[str]) -> None:
    if not modules:
        return
    code = (
        "import importlib.util, sys\n"
        f"present = [m for m in {modules!r} if importlib.util.find_spec(m)]\n"
        "sys.exit(f'outer packages importable here: {present}' if present else 0)\n"
    )
    session.run("python", "-c", code, silent=True)


@nox.session(python="3.11")
@nox.parametrize("package", PACKAGES)
def tests(session: nox.Session, package: str) -> None:
    """One package, installed alone with its test group, and its tests."""
    _sync(session, "--package", f"cookbook-{package}", "--group", "test", *EXTRAS.get(package, []))
    _assert_not_importable(session, OUTER[package])
    session.run("pytest", "-q", "-p", "no:cacheprovider", f"packages/cookbook-{package}/tests", *session.posargs)


@nox.session(python="3.11")
def slow(session: nox.Session) -> None:
    """End-to-end checks too slow for the per-package runs (the main job, kill/resume)."""
    _sync(session, "--all-packages", "--all-extras", "--group", "test", "--group", "parity")
    for package in ("adapters", "cli"):  # one run each, so each package's pytest config applies
        root = f"packages/cookbook-{package}"
        session.run(
            "pytest", "-q", "-p", "no:cacheprovider", "-c", f"{root}/pyproject.toml", "--rootdir", root,
            "-m", "slow", "-rs", f"{root}/tests", *session.posargs,
        )


@nox.session(python="3.11")
def layers(session: nox.Session) -> None:
    """Import-linter contracts: cli > (recipes | adapters) > runtime; runtime imports pydantic only."""
    _sync(session, "--all-packages", "--all-extras")
    session.install("import-linter>=2.1")
    session.run("lint-imports", str(ROOT / ".importlinter"))
    session.run("python", str(ROOT / "tools" / "check_layer_violations.py"))


@nox.session(python="3.11")
def lint(session: nox.Session) -> None:
    """Ruff over every package, the benchmarks and this file."""
    session.install("ruff>=0.8")
    session.run("ruff", "check", "packages", "bench", "tools", "noxfile.py")


@nox.session(python="3.11")
def types(session: nox.Session) -> None:
    """mypy --strict over every package's src/."""
    _sync(session, "--all-packages", "--all-extras")
    session.install("mypy>=1.13", "types-PyYAML", "types-boto3", "pydantic>=2.7")
    session.run("mypy", "--config-file", str(ROOT / "pyproject.toml"), *[f"packages/cookbook-{p}/src" for p in PACKAGES])


@nox.session(python="3.11")
def wheels(session: nox.Session) -> None:
    """Build every package, then install each wheel alone in a fresh venv and import it."""
    dist = ROOT / "dist"
    shutil.rmtree(dist, ignore_errors=True)
    session.run("uv", "build", "--all-packages", "-o", str(dist), "--wheel", silent=True, external=True)
    wheels_built = sorted(dist.glob("*.whl"))
    if len(wheels_built) != len(PACKAGES):
        session.error(f"expected {len(PACKAGES)} wheels, built {[w.name for w in wheels_built]}")
    tmp = Path(session.create_tmp())
    for wheel in wheels_built:
        module = wheel.name.split("-")[0]
        venv = tmp / f"venv-{module}"
        shutil.rmtree(venv, ignore_errors=True)
        session.run("uv", "venv", "-q", "-p", "3.11", str(venv), external=True)
        py = str(venv / "bin" / "python")
        session.run(
            "uv", "pip", "install", "-q", "--python", py, "--find-links", str(dist), str(wheel),
            external=True, env={"UV_INDEX_STRATEGY": "unsafe-best-match"},
        )
        session.run(py, "-c", f"import {module}; print({module}.__name__, 'imports')", external=True)
    runtime_venv = tmp / "venv-cookbook_runtime"
    session.run(
        str(runtime_venv / "bin" / "python"), "-c",
        "import importlib.metadata as m, sys; "
        "names = sorted(d.metadata['Name'].lower().replace('_', '-') for d in m.distributions()); "
        "extra = [n for n in names if n not in {'cookbook-runtime','pydantic','pydantic-core','typing-extensions','annotated-types','typing-inspection'}]; "
        "sys.exit(f'runtime wheel pulled in: {extra}' if extra else 0)",
        external=True,
    )


@nox.session(python="3.11")
def parity(session: nox.Session) -> None:
    """Renderer parity with tinker-cookbook on real offline tokenizers (100% equality)."""
    _sync(session, "--package", "cookbook-runtime", "--group", "test", "--group", "parity")
    session.run("pytest", "-q", "-p", "no:cacheprovider", "packages/cookbook-runtime/parity", *session.posargs)
    # The runtime's own tests again, now with tinker-cookbook present for its oracle checks.
    session.run("pytest", "-q", "-p", "no:cacheprovider", "-rs", "packages/cookbook-runtime/tests")


os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")
