"""No secrets or personal identifiers in access logs."""

from app.core.logs import redact_path


def test_tokens_and_ticket_codes_are_cut_from_logged_paths():
    assert redact_path("/auth/reset/IjEyMyI.abc.def") == "/auth/reset/…"
    assert redact_path("/auth/verify/abc") == "/auth/verify/…"
    assert redact_path("/t/12.abc.sig") == "/t/…"
    assert redact_path("/tickets/12.abc.sig.png") == "/tickets/…"
    assert redact_path("/unsubscribe/MQ.x") == "/unsubscribe/…"
    assert redact_path("/events/3/party") == "/events/3/party"
