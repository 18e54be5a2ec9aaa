"""Camera scanning: Chromium's fake camera shows a ticket's QR code (a Y4M video made here from
the real QR image) and the scanner decodes it (BarcodeDetector, or jsQR from npm) and checks in."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
import sqlalchemy as sa
from PIL import Image
from playwright.sync_api import expect

from app.checkin.models import Scan
from app.events.models import Registration
from app.events.tickets import qr_png
from app.extensions import db
from tests.factories import make_event, make_registration, make_user
from tests.helpers import PASSWORD, screenshot

VENDOR = Path(__file__).resolve().parents[2] / "app" / "static" / "vendor" / "jsQR.js"


def write_y4m(png: bytes, path: Path, width: int = 640, height: int = 480, frames: int = 5):
    """A short greyscale Y4M video (4:2:0) of the image centred on white."""
    qr = Image.open(io.BytesIO(png)).convert("L")
    qr.thumbnail((height - 40, height - 40))
    canvas = Image.new("L", (width, height), 255)
    canvas.paste(qr, ((width - qr.width) // 2, (height - qr.height) // 2))
    luma = canvas.tobytes()
    chroma = bytes([128]) * (width // 2 * height // 2)
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(frames):
            out.write(b"FRAME\n" + luma + chroma + chroma)


@pytest.mark.live
def test_the_camera_reads_a_ticket_qr_and_checks_it_in(app, browser, live_server, tmp_path):
    if not VENDOR.exists():
        pytest.skip("app/static/vendor/jsQR.js is missing: run `make frontend`")
    app.extensions.pop("checkin_public_keys", None)
    with app.app_context():
        make_user("anna@example.org", name="Anna Door", roles=["door"])
        event = make_event("Camera night", days_ahead=0)
        registration = make_registration(event, make_user(name="Freyja Guest"))
        db.session.commit()
        event_id, registration_id = event.id, registration.id
        video = tmp_path / "ticket.y4m"
        write_y4m(qr_png(registration.ticket_code), video)

    camera_browser = browser.browser_type.launch(
        executable_path=os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"),
        args=[
            "--no-sandbox",
            "--disable-gpu",
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-video-capture={video}",
        ],
    )
    try:
        context = camera_browser.new_context(
            base_url=live_server,
            viewport={"width": 360, "height": 740},
            is_mobile=True,
            has_touch=True,
        )
        context.grant_permissions(["camera"], origin=live_server)
        page = context.new_page()
        page.goto("/auth/login")
        page.locator("#email").fill("anna@example.org")
        page.locator("#password").fill(PASSWORD)
        page.locator("#submit").click()
        page.wait_for_url("**/account")
        page.goto(f"/door/{event_id}")
        expect(page.locator("#door[data-ready='true']")).to_be_attached()
        page.locator("#door-hold").check()

        page.locator("#door-camera-toggle").click()
        expect(page.locator("#door-camera-toggle")).to_have_attribute("data-state", "on")
        result = page.locator("#door-result[data-status='ok']")
        expect(result).to_be_visible(timeout=15000)
        expect(result).to_contain_text("Welcome, Freyja Guest")
        # The same QR held in front of the camera is scanned once, not again on every frame.
        page.locator("#door-result").click()
        expect(page.locator("#door-result")).to_be_hidden()
        screenshot(page, "door-camera-phone")
        page.locator("#door-camera-toggle").click()
        expect(page.locator("#door-camera-toggle")).to_have_attribute("data-state", "off")
        expect(page.locator("#door-checked-in")).to_have_text("1")
        context.close()
    finally:
        camera_browser.close()

    with app.app_context():
        assert db.session.get(Registration, registration_id).checked_in_at is not None
        assert db.session.scalar(sa.select(sa.func.count(Scan.id))) == 1
