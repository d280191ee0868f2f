"""`python -m cookbook_recipes.eval_tasks [DIR]`: regenerate the shipped task files."""

import sys
from pathlib import Path

from cookbook_recipes.eval_tasks import TASK_DIR, write

for written in write(Path(sys.argv[1]) if len(sys.argv) > 1 else TASK_DIR):
    print(written)
