"""Command implementations, imported lazily by `cookbook_cli.app`."""
