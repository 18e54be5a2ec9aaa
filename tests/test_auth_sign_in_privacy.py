"""Passkeys and linked providers in my data export (names and dates, never key material), and gone
when a member is anonymised."""

from sqlalchemy import func, select

from app.auth.sign_in_models import Passkey, PasskeyChallenge, SignInIdentity
from app.extensions import db
from app.members.privacy import anonymise
from tests.factories import make_user
from tests.helpers import login
from tests.members_helpers import make_member


def _add_sign_in_methods(user):
    db.session.add(
        Passkey(
            user_id=user.id,
            credential_id="credential-1",
            public_key=b"public key bytes",
            user_handle=b"handle",
            name="Laptop",
        )
    )
    db.session.add(
        SignInIdentity(provider="github", subject="4242", user_id=user.id, email="me@example.org")
    )
    db.session.add(
        PasskeyChallenge(
            challenge_hash="0" * 64, purpose="register", user_id=user.id, expires_at=user.created_at
        )
    )


def test_export_lists_passkeys_and_providers_without_key_material(client, ctx):
    user = make_user("me@example.org")
    db.session.commit()
    login(client, "me@example.org")  # before the passkey, which would ask for a second step
    _add_sign_in_methods(user)
    db.session.commit()
    data = client.get("/account/data.json").get_json()
    [passkey] = data["passkeys"]
    assert passkey["name"] == "Laptop" and passkey["created_at"]
    assert "public_key" not in passkey and "credential_id" not in passkey
    [identity] = data["sign_in_providers"]
    assert (identity["provider"], identity["subject"], identity["email"]) == (
        "github",
        "4242",
        "me@example.org",
    )


def test_anonymisation_removes_passkeys_and_providers(ctx):
    staff = make_user("staff@example.org", roles=["membership"])
    user = make_user("gone@example.org")
    membership = make_member(user)
    _add_sign_in_methods(user)
    other = make_user("stays@example.org")
    db.session.add(SignInIdentity(provider="github", subject="1", user_id=other.id))
    db.session.flush()
    anonymise(membership, staff.id)
    for model in (Passkey, PasskeyChallenge, SignInIdentity):
        assert not db.session.scalar(select(func.count()).where(model.user_id == user.id))
    assert db.session.scalar(select(SignInIdentity.user_id)) == other.id
