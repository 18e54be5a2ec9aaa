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
