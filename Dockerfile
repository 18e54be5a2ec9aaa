# Félag: one image for the web process (gunicorn, the default command) and the worker
# (`flask jobs worker`: RQ worker, job relay and scheduler). Two stages: `build` installs the locked
# Python packages, the npm packages and compiles the catalogs; `runtime` gets only the runtime
# virtualenv, the app, the compiled catalogs and the vendor static files: no test tools, no Node,
# no compilers, no pip in the virtualenv; it runs as an unprivileged user.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends nodejs npm \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src

# Exactly the runtime lock: every file checked against its sha256 (--require-hashes), wheels only
# (nothing compiled, no unlocked build dependency fetched). The virtualenv has no pip of its own:
# the base image's pip installs into it.
COPY requirements.txt ./
RUN python -m venv --without-pip /opt/venv \
    && pip --python /opt/venv/bin/python install --require-hashes --only-binary :all: \
       -r requirements.txt

# Front-end packages from package-lock.json, copied into app/static/vendor/.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

COPY . .
# /out is what the runtime stage takes: the code it runs, the vendor files, and the .mo catalogs
# (the .po sources stay behind).
RUN sh scripts/copy-vendor.sh \
    && /opt/venv/bin/python -m babel.messages.frontend compile -d translations \
    && mkdir -p /out \
    && cp -a app migrations config.py wsgi.py gunicorn.conf.py /out/ \
    && find translations -name '*.mo' -exec cp --parents {} /out/ \;

FROM ${PYTHON_IMAGE} AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PATH=/opt/venv/bin:$PATH \
    FLASK_APP=wsgi FELAG_ENV=production
RUN useradd --create-home --uid 10001 --user-group felag
WORKDIR /srv/felag
COPY --from=build /opt/venv /opt/venv
# Code and catalogs stay owned by root (the app cannot change them); instance/ is the one writable
# folder (local files and .eml mail when no S3 or SMTP is configured; mount a volume there).
COPY --from=build /out/ ./
RUN mkdir instance && chown felag:felag instance
USER 10001:10001
EXPOSE 8000
# Web (default): gunicorn on :8000. Worker: `docker run IMAGE flask jobs worker`.
# Migrations: `docker run IMAGE flask db upgrade`.
CMD ["gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"]
