"""Proves the layer contracts bite: each deliberately wrong import must break `lint-imports`.

For each violation, copies the four `src/` trees to a temporary directory, appends
one bad import to a module there, and runs import-linter with that copy first on
`PYTHONPATH`. Exits non-zero if any violation goes unnoticed. Run by `nox -s layers`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ["runtime", "recipes", "adapters", "cli"]
VIOLATIONS = {
    "runtime imports recipes": ("cookbook_runtime/errors.py", "import cookbook_recipes\n"),
    "recipes imports adapters": ("cookbook_recipes/__init__.py", "import cookbook_adapters\n"),
    "adapters imports recipes": ("cookbook_adapters/__init__.py", "import cookbook_recipes\n"),
    "runtime imports a third-party package": ("cookbook_runtime/errors.py", "import numpy\n"),
    "runtime ports import train": ("cookbook_runtime/ports/_protocols.py", "import cookbook_runtime.train.datum\n"),
    "runtime types import ports": ("cookbook_runtime/types.py", "import cookbook_runtime.ports\n"),
    "runtime framework imports train": ("cookbook_runtime/framework/_context.py", "import cookbook_runtime.train\n"),
}


def lint(pythonpath: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(pythonpath)}
    return subprocess.run(
        ["lint-imports", str(ROOT / ".importlinter"), "--no-cache"],
        env=env, capture_output=True, text=True, check=False,
    )


def main() -> int:
    failures = []
    for label, (module_path, line) in VIOLATIONS.items():
        with tempfile.TemporaryDirectory() as tmp:
            tmp_path = Path(tmp)
            for pkg in PACKAGES:
                src = ROOT / "packages" / f"cookbook-{pkg}" / "src" / f"cookbook_{pkg}"
                shutil.copytree(src, tmp_path / f"cookbook_{pkg}")
            target = tmp_path / module_path
            target.write_text(target.read_text() + line)
            result = lint(tmp_path)
        caught = result.returncode != 0 and "BROKEN" in result.stdout
        print(f"{'caught' if caught else 'MISSED'}: {label}")
        if not caught:
            failures.append(label)
    if failures:
        print(f"layer contracts did not catch: {failures}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
