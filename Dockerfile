# Félag: one image for the web process (gunicorn) and the workers (flask rq worker).
FROM python:3.11-slim AS base
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 FLASK_APP=wsgi \
    FELAG_ENV=production
WORKDIR /srv/felag

RUN apt-get update && apt-get install -y --no-install-recommends nodejs npm \
    && rm -rf /var/lib/apt/lists/*
COPY requirements.txt ./
RUN pip install -r requirements.txt
COPY package*.json* ./
RUN if [ -f package.json ]; then npm ci --omit=dev --no-audit --no-fund; fi
COPY . .
RUN if [ -f scripts/copy-vendor.sh ]; then sh scripts/copy-vendor.sh; fi \
    && SECRET_KEY=build-only FELAG_ENV=development python -m babel.messages.frontend compile -d translations \
    && useradd --create-home --uid 10001 felag && chown -R felag /srv/felag
USER felag
EXPOSE 8000
# Web: the default. Worker: `docker run IMAGE flask rq worker --with-scheduler mail tickets default`
CMD ["gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"]
