"""S3 and S3-compatible blob storage through boto3 (extra `s3`).

Credentials come from boto3's standard chain (environment, profile, instance
role); they are never options, and never appear in logs or error messages.
"""

from cookbook_adapters.s3._store import S3BlobStore, parse_s3_url

__all__ = ["S3BlobStore", "parse_s3_url"]
