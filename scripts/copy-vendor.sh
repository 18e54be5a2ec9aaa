#!/bin/sh
# Copy the built files of the npm packages the pages use into app/static/vendor/ (git-ignored).
# Run by `make frontend` after `npm ci`.
set -eu
cd "$(dirname "$0")/.."
VENDOR=app/static/vendor
mkdir -p "$VENDOR"

# QR decoder for the door scanner's camera, where the browser has no BarcodeDetector.
cp node_modules/jsqr/dist/jsQR.js "$VENDOR/jsQR.js"

# Charts on the poll results page (and the staff statistics): Chart.js's UMD build, one file.
cp node_modules/chart.js/dist/chart.umd.min.js "$VENDOR/chart.umd.min.js"

# Markdown editor with a toolbar and preview for news, pages and newsletters (our
# static/js/markdown-editor.js starts it; without it the fields stay plain textareas).
cp node_modules/easymde/dist/easymde.min.js "$VENDOR/easymde.min.js"
cp node_modules/easymde/dist/easymde.min.css "$VENDOR/easymde.min.css"

# Accessibility checks (axe-core) injected into pages by the browser tests.
cp node_modules/axe-core/axe.min.js "$VENDOR/axe.min.js"

# The API documentation page /api/v1/docs (Swagger UI, served locally).
cp node_modules/swagger-ui-dist/swagger-ui-bundle.js "$VENDOR/swagger-ui-bundle.js"
cp node_modules/swagger-ui-dist/swagger-ui.css "$VENDOR/swagger-ui.css"

# Passkeys: the browser side of WebAuthn (registration and sign-in ceremonies), one UMD file.
cp node_modules/@simplewebauthn/browser/dist/bundle/index.umd.min.js "$VENDOR/simplewebauthn-browser.umd.min.js"
