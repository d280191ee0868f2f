"""The embedded model registry: SQLite (stdlib `sqlite3`, WAL) for metadata, a `BlobStore` for files.

No extra is needed. The database is `$COOKBOOK_DATA_DIR/registry.db`, else
`$XDG_DATA_HOME/cookbook/registry.db`, else `~/.local/share/cookbook/registry.db`.
"""

from cookbook_adapters.sqlite._registry import SqliteModelRegistry, default_registry_path
from cookbook_adapters.sqlite._schema import SCHEMA_VERSION, migrate

__all__ = ["SCHEMA_VERSION", "SqliteModelRegistry", "default_registry_path", "migrate"]
