"""Turn boto3/botocore failures into one-line `StorageError`s that name what failed.

Messages name the operation, bucket, key and endpoint, plus the S3 error code,
and never echo credentials or the raw botocore text (which can quote headers).
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from cookbook_runtime.errors import StorageError

try:
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        EndpointConnectionError,
        NoCredentialsError,
        PartialCredentialsError,
        ProfileNotFound,
    )
except ModuleNotFoundError as exc:  # pragma: no cover - only without the extra
    from cookbook_runtime.errors import AdapterUnavailable

    raise AdapterUnavailable("s3", "boto3", "s3") from exc

__all__ = ["error_code", "safe_endpoint", "translate"]

_CREDENTIAL_CODES = {
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "InvalidClientTokenId",
    "ExpiredToken",
    "InvalidToken",
    "AuthFailure",
    "UnrecognizedClientException",
}
_MISSING_CODES = {"NoSuchKey", "404", "NotFound"}


def safe_endpoint(endpoint_url: str | None) -> str:
    """The endpoint for messages, with any `user:password@` removed."""
    if not endpoint_url:
        return "AWS S3"
    parts = urlsplit(endpoint_url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def error_code(exc: BaseException) -> str:
    """The S3 error code of a `ClientError` (e.g. 'NoSuchKey'), else ''."""
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    return ""


def translate(exc: BaseException, *, op: str, bucket: str, key: str | None, endpoint: str | None) -> StorageError:
    """A one-line `StorageError` for a failed S3 call."""
    where = f"s3://{bucket}/{key}" if key else f"s3://{bucket}"
    at = safe_endpoint(endpoint)
    code = error_code(exc)
    if isinstance(exc, ProfileNotFound):
        return StorageError(f"S3 {op} {where}: AWS profile not found; fix the 's3' adapter's 'profile' option")
    if isinstance(exc, NoCredentialsError | PartialCredentialsError):
        return StorageError(
            f"S3 {op} {where}: no usable AWS credentials; set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY "
            "or a profile"
        )
    if isinstance(exc, EndpointConnectionError):
        return StorageError(f"S3 {op} {where}: cannot connect to endpoint {at}; check 'endpoint_url' and that the server is up")
    if code == "NoSuchBucket":
        return StorageError(f"S3 {op} {where}: bucket {bucket!r} does not exist at {at}; create it or fix 'bucket'")
    if code in _CREDENTIAL_CODES:
        return StorageError(f"S3 {op} {where}: {at} rejected the credentials ({code}); check the AWS keys or profile")
    if code in {"AccessDenied", "403", "Forbidden"}:
        return StorageError(f"S3 {op} {where}: access denied by {at} ({code}); check the bucket policy and credentials")
    if code in _MISSING_CODES:
        return StorageError(f"S3 {op} {where}: no object at that key")
    if code:
        return StorageError(f"S3 {op} {where} failed at {at}: {code}")
    if isinstance(exc, BotoCoreError):
        return StorageError(f"S3 {op} {where} failed at {at}: {type(exc).__name__}")
    return StorageError(f"S3 {op} {where} failed at {at}: {type(exc).__name__}")
