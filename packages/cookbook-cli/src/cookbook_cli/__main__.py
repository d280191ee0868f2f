"""`python -m cookbook_cli`: the same as the `cookbook` command."""

from cookbook_cli.app import main

if __name__ == "__main__":
    main()
