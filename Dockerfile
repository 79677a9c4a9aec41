# The product's image: one image, several commands (web, worker, bridge), chosen by
# docker-compose.yml. Browser libraries come from the npm registry in a build stage.
FROM node:20-bookworm-slim AS frontend
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error

FROM python:3.11-slim-bookworm
ENV PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    CALLCENTER_INSTANCE=/var/lib/callcenter
WORKDIR /app
# Dependencies first, so that a code change does not reinstall them.
COPY pyproject.toml ./
RUN mkdir -p callcenter telephony tickets kb \
    && touch callcenter/__init__.py telephony/__init__.py tickets/__init__.py kb/__init__.py \
    && pip install --no-cache-dir -e . \
    && rm -rf callcenter telephony tickets kb
COPY callcenter ./callcenter
COPY telephony ./telephony
COPY tickets ./tickets
COPY kb ./kb
COPY static ./static
COPY --from=frontend /app/node_modules ./node_modules
# Editable install: the app serves ./static and ./node_modules next to the package.
# The .mo catalogues are compiled here: the app cannot write into /app at run time.
RUN pip install --no-cache-dir --no-deps -e . \
    && python -c "from pathlib import Path; from callcenter.i18n import ensure_compiled; \
ensure_compiled(Path('callcenter/translations'))" \
    && useradd --system --home-dir /var/lib/callcenter --create-home callcenter
USER callcenter
EXPOSE 5000 4573
ENTRYPOINT ["callcenter"]
CMD ["serve", "--host", "0.0.0.0", "--port", "5000"]
