"""File storage on the local disk or S3, with a public and a private area."""

from __future__ import annotations

import logging
import secrets
from pathlib import Path

from flask import Flask, current_app, redirect, send_file, url_for
from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction
from werkzeug.utils import safe_join

from app.extensions import db

log = logging.getLogger(__name__)

AREAS = ("public", "private")


def new_key(prefix: str, extension: str) -> str:
    """A generated, unguessable object name; user-supplied names are never used."""
    return f"{prefix}/{secrets.token_urlsafe(18)}.{extension.lstrip('.')}"


class LocalStorage:
    """Files under a folder on the local disk."""

    def __init__(self, root: str):
        self.root = Path(root)

    def _path(self, area: str, key: str) -> Path:
        if area not in AREAS:
            raise ValueError(f"unknown storage area {area!r}")
        joined = safe_join(str(self.root / area), key)
        if joined is None:
            raise ValueError("unsafe storage key")
        return Path(joined)

    def save(self, area: str, key: str, data: bytes, content_type: str) -> None:
        path = self._path(area, key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_bytes(data)
        tmp.replace(path)

    def read(self, area: str, key: str) -> bytes:
        return self._path(area, key).read_bytes()

    def exists(self, area: str, key: str) -> bool:
        return self._path(area, key).is_file()

    def delete(self, area: str, key: str) -> None:
        self._path(area, key).unlink(missing_ok=True)

    def url(self, area: str, key: str) -> str:
        """A URL for a public file."""
        return url_for("core.media", key=key)

    def serve(self, area: str, key: str, download_name: str | None = None):
        """A response with the file; callers check who may see private files first."""
        path = self._path(area, key)
        if not path.is_file():
            from flask import abort

            abort(404)
        return send_file(path, download_name=download_name, max_age=3600 if area == "public" else 0)

    def check(self) -> bool:
        self.save("private", "health/probe", b"ok", "text/plain")
        ok = self.read("private", "health/probe") == b"ok"
        self.delete("private", "health/probe")
        return ok

    describe = "local"


class S3Storage:
    """Objects in an S3-compatible bucket (AWS, Spaces, R2, MinIO); areas are key prefixes."""

    def __init__(self, config):
        import boto3
        from botocore.config import Config as BotoConfig

        self.bucket = config["S3_BUCKET"]
        self.public_url = config.get("S3_PUBLIC_URL", "").rstrip("/")
        self.client = boto3.client(
            "s3",
            endpoint_url=config.get("S3_ENDPOINT_URL"),
            region_name=config.get("S3_REGION"),
            aws_access_key_id=config.get("S3_ACCESS_KEY_ID"),
            aws_secret_access_key=config.get("S3_SECRET_ACCESS_KEY"),
            config=BotoConfig(
                signature_version="s3v4",
                retries={"max_attempts": 3, "mode": "standard"},
                connect_timeout=3,
            ),
        )

    @staticmethod
    def _key(area: str, key: str) -> str:
        if area not in AREAS:
            raise ValueError(f"unknown storage area {area!r}")
        return f"{area}/{key}"

    def save(self, area: str, key: str, data: bytes, content_type: str) -> None:
        self.client.put_object(
            Bucket=self.bucket, Key=self._key(area, key), Body=data, ContentType=content_type
        )

    def read(self, area: str, key: str) -> bytes:
        obj = self.client.get_object(Bucket=self.bucket, Key=self._key(area, key))
        return obj["Body"].read()

    def exists(self, area: str, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(area, key))
        except ClientError:
            return False
        return True

    def delete(self, area: str, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._key(area, key))

    def presigned_url(self, area: str, key: str, seconds: int = 60, download_name=None) -> str:
        params = {"Bucket": self.bucket, "Key": self._key(area, key)}
        if download_name:
            params["ResponseContentDisposition"] = f'attachment; filename="{download_name}"'
        return self.client.generate_presigned_url("get_object", Params=params, ExpiresIn=seconds)

    def url(self, area: str, key: str) -> str:
        if self.public_url:
            return f"{self.public_url}/{self._key(area, key)}"
        return url_for("core.media", key=key)

    def serve(self, area: str, key: str, download_name: str | None = None):
        """Redirect to a short-lived presigned URL."""
        return redirect(self.presigned_url(area, key, download_name=download_name))

    def check(self) -> bool:
        self.client.head_bucket(Bucket=self.bucket)
        return True

    describe = "s3"


def get_storage() -> LocalStorage | S3Storage:
    """The storage backend of the current application."""
    return current_app.extensions["storage"]


def store(area: str, key: str, data: bytes, content_type: str) -> str:
    """Save a file that belongs to the request's transaction: a rollback removes it again.

    Call it before taking row locks: storage may be slow, and nobody should wait on a lock for it.
    """
    session = db.session()
    session.connection()  # begin the transaction now, so its rollback is seen
    transaction = session.get_nested_transaction() or session.get_transaction()
    get_storage().save(area, key, data, content_type)
    session.info.setdefault("stored_files", []).append((transaction, area, key))
    return key


def _inside(transaction: SessionTransaction | None, ended: SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is ended:
            return True
        transaction = transaction.parent
    return False


def delete_after_commit(area: str, key: str) -> None:
    """Delete a stored file once the request's transaction commits (kept if it rolls back)."""
    db.session.info.setdefault("files_to_delete", []).append((area, key))


@event.listens_for(Session, "after_commit")
def _keep_stored_files(session: Session) -> None:
    session.info.pop("stored_files", None)
    for area, key in session.info.pop("files_to_delete", []):
        try:
            get_storage().delete(area, key)
        except Exception:  # a file left behind is harmless: nothing refers to it any more
            log.warning("Could not remove a stored file after its commit")


@event.listens_for(Session, "after_soft_rollback")
def _forget_deletions(session: Session, previous_transaction: SessionTransaction) -> None:
    if previous_transaction.parent is None:
        session.info.pop("files_to_delete", None)


@event.listens_for(Session, "after_soft_rollback")
def _remove_stored_files(session: Session, previous_transaction: SessionTransaction) -> None:
    """Delete the files saved inside the transaction (or savepoint) that was rolled back."""
    _remove_inside(session, previous_transaction)


@event.listens_for(Session, "after_transaction_end")
def _remove_uncommitted_files(session: Session, transaction: SessionTransaction) -> None:
    # A session closed without commit or rollback (the end of a failed request) drops its work too.
    if transaction.parent is None:
        _remove_inside(session, transaction)


def _remove_inside(session: Session, ended: SessionTransaction) -> None:
    stored = session.info.get("stored_files")
    if not stored:
        return
    gone = [item for item in stored if _inside(item[0], ended)]
    session.info["stored_files"] = [item for item in stored if item not in gone]
    for _transaction, area, key in gone:
        try:
            get_storage().delete(area, key)
        except Exception:  # a file left behind is harmless; the rollback itself must go on
            log.warning("Could not remove a stored file after a rollback")


def init_app(app: Flask) -> None:
    """Choose S3 when a bucket is configured, else the local disk."""
    if app.config.get("S3_BUCKET"):
        app.extensions["storage"] = S3Storage(app.config)
    else:
        app.extensions["storage"] = LocalStorage(app.config["STORAGE_DIR"])
