"""Storage on S3 (a moto server on loopback) and on the local disk."""

import pytest

from app.core.storage import LocalStorage, S3Storage, get_storage, new_key


def test_app_uses_s3_in_tests_and_round_trips_a_private_file(ctx):
    storage = get_storage()
    assert isinstance(storage, S3Storage)
    key = new_key("tests", "txt")
    storage.save("private", key, "æøå þð".encode(), "text/plain")
    assert storage.exists("private", key)
    assert storage.read("private", key).decode() == "æøå þð"
    storage.delete("private", key)
    assert not storage.exists("private", key)


def test_s3_private_files_are_served_through_short_lived_presigned_urls(ctx):
    import requests

    storage = get_storage()
    key = new_key("tests", "txt")
    storage.save("private", key, b"secret", "text/plain")
    response = storage.serve("private", key)
    assert response.status_code == 302
    url = response.headers["Location"]
    assert "X-Amz-Expires=60" in url and "Signature" in url
    assert requests.get(url, timeout=5).content == b"secret"
    unsigned = url.split("?", 1)[0]
    assert requests.get(unsigned, timeout=5).status_code == 403


def test_areas_are_separate_on_s3(ctx):
    storage = get_storage()
    key = new_key("tests", "txt")
    storage.save("private", key, b"x", "text/plain")
    assert not storage.exists("public", key)


def test_local_storage_round_trip_and_refuses_path_tricks(tmp_path, ctx):
    storage = LocalStorage(str(tmp_path))
    storage.save("public", "a/b.txt", b"hello", "text/plain")
    assert storage.read("public", "a/b.txt") == b"hello"
    assert (tmp_path / "public" / "a" / "b.txt").is_file()
    with pytest.raises(ValueError):
        storage.save("public", "../private/evil.txt", b"x", "text/plain")
    with pytest.raises(ValueError):
        storage.save("elsewhere", "x.txt", b"x", "text/plain")
    assert storage.check()


def test_public_media_route_serves_public_files_only(client, app):
    with app.app_context():
        storage = get_storage()
        storage.save("public", "tests/pub.txt", b"public", "text/plain")
        storage.save("private", "tests/priv.txt", b"private", "text/plain")
    assert client.get("/media/tests/pub.txt").status_code == 302  # presigned redirect on S3
    response = client.get("/media/tests/priv.txt")
    assert response.status_code == 302
    import requests

    assert requests.get(response.headers["Location"], timeout=5).status_code == 404
