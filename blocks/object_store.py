"""The `clipmill-object-store` block: S3 endpoint and credentials kept by the Prefect server.

Register once with ``prefect block register -m blocks.object_store``, create one in the UI (or with
`ObjectStoreCredentials(...).save("production")`), then point workers at it with
``CLIPMILL_STORAGE__BLOCK=production``. Secrets stay in Prefect, not in deployment parameters.
"""

from __future__ import annotations

from prefect.blocks.core import Block
from pydantic import Field, SecretStr

from clipmill.config import StorageSettings


class ObjectStoreCredentials(Block):
    """An S3-speaking object store (MinIO, AWS S3, SeaweedFS) and the bucket clipmill uses."""

    _block_type_name = "clipmill object store"
    _block_type_slug = "clipmill-object-store"
    _description = "S3 endpoint, credentials and bucket for clipmill intermediates and clips."

    endpoint: str = Field(description="host:port, e.g. minio:9000 or s3.eu-west-1.amazonaws.com")
    access_key: str
    secret_key: SecretStr
    bucket: str = "clipmill"
    secure: bool = Field(False, description="Use HTTPS.")
    region: str | None = None

    def to_settings(self, base: StorageSettings) -> StorageSettings:
        """These credentials over the installation's other storage settings (timeouts)."""
        return base.model_copy(
            update={
                "endpoint": self.endpoint, "access_key": self.access_key, "secret_key": self.secret_key,
                "bucket": self.bucket, "secure": self.secure, "region": self.region, "block": None,
            }
        )


def resolve(storage: StorageSettings) -> StorageSettings:
    """Replace a block reference by the block's contents; plain settings pass through."""
    if not storage.block:
        return storage
    return ObjectStoreCredentials.load(storage.block).to_settings(storage)
