"""`python toy_cli.py ARGS`: the `cookbook` command with the toy recipe registered."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import toy_recipe
from cookbook_cli.app import main

toy_recipe.register()
main()
