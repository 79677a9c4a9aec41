# The product's image: one image, several commands (web, worker, bridge), chosen by
# docker-compose.yml. Three stages: the browser libraries from the npm registry, a
# wheel built from them and the source, and the runtime with the lock and that wheel.

FROM node:20-bookworm-slim AS frontend
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error

# setup.py's build hook compiles the translation catalogues (Babel) and copies static/
# and the allow-listed browser libraries (node_modules, already there: no npm here) into
# the wheel, which is then self-contained.
FROM python:3.11-slim-bookworm AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY requirements/build.txt requirements/build.txt
RUN pip install --require-hashes -r requirements/build.txt
COPY pyproject.toml setup.py MANIFEST.in package.json package-lock.json ./
COPY callcenter ./callcenter
COPY telephony ./telephony
COPY tickets ./tickets
COPY repairs ./repairs
COPY kb ./kb
COPY static ./static
COPY --from=frontend /src/node_modules ./node_modules
RUN pip wheel --no-deps --no-build-isolation --wheel-dir /dist .

FROM python:3.11-slim-bookworm
ENV PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    CALLCENTER_INSTANCE=/var/lib/callcenter
# The dispatch sheet's PDF (WeasyPrint): pango, and a CJK font for the Chinese text.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 \
        fonts-noto-cjk \
    && rm -rf /var/lib/apt/lists/*
# The pinned dependencies first, so that a code change does not reinstall them.
# The lock stays in the image: it says what the image was built from.
COPY requirements/base.txt /opt/callcenter/requirements.txt
RUN pip install --require-hashes -r /opt/callcenter/requirements.txt
COPY --from=builder /dist/ /opt/callcenter/dist/
RUN pip install --no-deps /opt/callcenter/dist/callcenter-*.whl && rm -r /opt/callcenter/dist \
    && useradd --system --uid 10001 --home-dir /var/lib/callcenter --create-home callcenter
# Not root; nothing of the app is writable by it but the instance folder (a volume).
USER callcenter
WORKDIR /var/lib/callcenter
EXPOSE 5000 4573
ENTRYPOINT ["callcenter"]
CMD ["serve", "--host", "0.0.0.0", "--port", "5000"]
