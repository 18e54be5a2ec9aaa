from app.events.tickets import parse_code, verify
from tests.factories import make_event, make_registration


def test_confirmed_registration_has_a_valid_signed_code(ctx):
    event = make_event(capacity=2)
    registration = make_registration(event)
    assert event.confirmed_count == 1
    assert verify(parse_code(registration.ticket_code), event.public_key)
