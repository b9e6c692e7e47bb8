# syntax=docker/dockerfile:1
#
# One image for every autoclock role; the command picks the role:
#   docker run IMAGE              -> autoclock run        (all in one; embedded Redis without REDIS_URL)
#   docker run IMAGE worker       -> autoclock worker     (actors; scale out freely)
#   docker run IMAGE webhooks     -> autoclock webhooks   (POST /hooks/<source> on 8080)
#   docker run IMAGE scheduler    -> autoclock scheduler  (run two: one leads)
#
# Every one of these roles also serves /healthz, /readyz and /metrics on its admin listener,
# 127.0.0.1:8081 inside the container (AUTOCLOCK_ADMIN_HOST/_PORT): the HEALTHCHECK reaches
# it, nothing outside the container does until you set AUTOCLOCK_ADMIN_HOST=0.0.0.0 (the
# Kubernetes manifests do, for the kubelet's probes and Prometheus).
#
# Nothing secret is baked in: WEBWORK_TOKEN and AUTOCLOCK_WEBHOOK_SECRET_<SOURCE> come from the
# environment at run time. The rules are mounted at /app/rules (read-only is fine); /app/data
# is a volume (only `run` without REDIS_URL writes there: the embedded Redis's AOF files).
# Operations guide: docs/operations.md.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm
ARG UV_IMAGE=ghcr.io/astral-sh/uv:0.13.9

FROM ${UV_IMAGE} AS uv

# ---------------------------------------------------------------- builder: the locked venv
FROM ${PYTHON_IMAGE} AS builder
COPY --from=uv /uv /usr/local/bin/uv
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON=/usr/local/bin/python3.11 \
    UV_PROJECT_ENVIRONMENT=/app/.venv
WORKDIR /src
# Dependencies first (their own layer, reused until uv.lock changes), then the project.
COPY pyproject.toml uv.lock README.md ./
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-install-project
COPY worker ./worker
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable

# ---------------------------------------------------------------- runtime: slim, non-root
FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="autoclock" \
      org.opencontainers.image.description="Clocks people in and out of WebWork Tracker from calendars, badge webhooks and schedules" \
      org.opencontainers.image.licenses="MIT"

RUN groupadd --system --gid 10001 autoclock \
    && useradd --system --uid 10001 --gid autoclock --home-dir /app --no-create-home \
       --shell /usr/sbin/nologin autoclock \
    && mkdir -p /app/rules /app/data \
    && chown autoclock:autoclock /app/data

# The venv stays owned by root: the process can read it, not change it.
COPY --from=builder /app/.venv /app/.venv

ENV PATH="/app/.venv/bin:${PATH}" \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    AUTOCLOCK_RULES_DIR=/app/rules \
    AUTOCLOCK_DATA_DIR=/app/data \
    AUTOCLOCK_WEBHOOK_HOST=0.0.0.0 \
    AUTOCLOCK_WEBHOOK_PORT=8080 \
    AUTOCLOCK_ADMIN_PORT=8081 \
    AUTOCLOCK_LOG_FORMAT=json

WORKDIR /app
VOLUME ["/app/data"]
EXPOSE 8080
USER 10001:10001

# The long-running roles (`run`, `worker`, `webhooks`, `scheduler`) answer GET /healthz on
# the admin listener (AUTOCLOCK_ADMIN_PORT); other commands (sandbox, one-off CLI) pass.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os,sys,urllib.request as u; a=set(open('/proc/1/cmdline','rb').read().split(b'\\0')); sys.exit(0) if not a & {b'run', b'worker', b'webhooks', b'scheduler'} else u.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('AUTOCLOCK_ADMIN_PORT', '8081'), timeout=4)"]

ENTRYPOINT ["autoclock"]
CMD ["run"]
