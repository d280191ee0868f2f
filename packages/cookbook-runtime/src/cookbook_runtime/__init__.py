"""cookbook-runtime: specs, the pipeline runner, ports and manifests, and the training core.

Import the sub-packages you need (`cookbook_runtime.ir`, `.framework`, `.ports`,
`.train`, `.runtime`, `.testing`); this top level stays light so importing it is fast.
"""

from cookbook_runtime.errors import CookbookError

__version__ = "0.1.0"

__all__ = ["CookbookError", "__version__"]
