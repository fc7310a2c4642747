"""The bench's scratch buckets in its embedded store, dropped once measured.

Every bench run (and every scaling run) writes into a fresh bucket; SeaweedFS gives each bucket its
own volumes, and with ``-volume.max=0`` the embedded server has only so many (about one per GiB of
free disk), so buckets left behind eventually make every upload fail with "No writable volumes".
"""

from __future__ import annotations

from pathlib import Path


def drop_bucket(home: Path | str, bucket: str) -> int:
    """Delete every object of `bucket` in the embedded store under `home`, then the bucket; objects deleted."""
    from minio import Minio
    from minio.deleteobjects import DeleteObject

    from clipmill.storage import embedded

    server = embedded.running(Path(home))
    if server is None:
        return 0
    client = Minio(server.endpoint, access_key=server.access_key, secret_key=server.secret_key, secure=False)
    if not client.bucket_exists(bucket):
        return 0
    keys = [item.object_name for item in client.list_objects(bucket, recursive=True)]
    errors = list(client.remove_objects(bucket, (DeleteObject(key) for key in keys)))
    if errors:
        raise RuntimeError(f"could not delete {len(errors)} objects of {bucket}: {errors[0]}")
    client.remove_bucket(bucket)
    return len(keys)


def drop_stale(home: Path | str, prefix: str = "bench-") -> list[str]:
    """Drop every bucket whose name starts with `prefix` (what earlier bench runs left); the names dropped."""
    from minio import Minio

    from clipmill.storage import embedded

    server = embedded.running(Path(home))
    if server is None:
        return []
    client = Minio(server.endpoint, access_key=server.access_key, secret_key=server.secret_key, secure=False)
    names = [bucket.name for bucket in client.list_buckets() if bucket.name.startswith(prefix)]
    for name in names:
        drop_bucket(home, name)
    return names
