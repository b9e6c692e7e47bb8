# syntax=docker/dockerfile:1
#
# One image for every autoclock role; the command picks the role:
#   docker run IMAGE              -> autoclock run        (all in one; embedded Redis without REDIS_URL)
#   docker run IMAGE worker       -> autoclock worker     (actors; scale out freely)
#   docker run IMAGE webhooks     -> autoclock webhooks   (POST /hooks/<source>, /healthz, /readyz, /metrics)
#   docker run IMAGE scheduler    -> autoclock scheduler  (run two: one leads)
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
    AUTOCLOCK_LOG_FORMAT=json

WORKDIR /app
VOLUME ["/app/data"]
EXPOSE 8080
USER 10001:10001

# Webhook roles (`run`, `webhooks`) answer GET /healthz; worker and scheduler have no HTTP
# endpoint, so for them the check passes and their supervisor (restart policy, Kubernetes)
# restarts a process that exits. Set the port with AUTOCLOCK_WEBHOOK_PORT, not --port, so the
# check finds it.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os,sys,urllib.request as u; a=set(open('/proc/1/cmdline','rb').read().split(b'\\0')); sys.exit(0) if not a & {b'run', b'webhooks'} else u.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('AUTOCLOCK_WEBHOOK_PORT', '8080'), timeout=4)"]

ENTRYPOINT ["autoclock"]
CMD ["run"]
