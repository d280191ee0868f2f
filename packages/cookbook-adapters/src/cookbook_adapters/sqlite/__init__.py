"""Embedded SQLite stores (stdlib `sqlite3`, WAL, no extra needed): the model registry and the feedback store.

The registry keeps metadata in `$COOKBOOK_DATA_DIR/registry.db` (else
`$XDG_DATA_HOME/cookbook/registry.db`, else `~/.local/share/cookbook/registry.db`) and
files in a `BlobStore`; the feedback store is `feedback.db` beside it.
"""

from cookbook_adapters.sqlite._feedback import SCHEMA_VERSION as FEEDBACK_SCHEMA_VERSION
from cookbook_adapters.sqlite._feedback import SQLiteFeedbackStore, default_feedback_path
from cookbook_adapters.sqlite._registry import SqliteModelRegistry, default_registry_path
from cookbook_adapters.sqlite._schema import SCHEMA_VERSION as REGISTRY_SCHEMA_VERSION
from cookbook_adapters.sqlite._schema import migrate

__all__ = [
    "FEEDBACK_SCHEMA_VERSION",
    "REGISTRY_SCHEMA_VERSION",
    "SQLiteFeedbackStore",
    "SqliteModelRegistry",
    "default_feedback_path",
    "default_registry_path",
    "migrate",
]
