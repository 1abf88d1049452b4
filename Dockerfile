# syntax=docker/dockerfile:1
# socmon: build the wheel in one stage, run it as an unprivileged user in the next.

FROM python:3.11-slim AS build
WORKDIR /src
# Every dependency and the build backend come from the locks (`make lock` writes them), pinned
# with their hashes: pip refuses a file whose hash is not in the lock, and anything unlocked.
# --ignore-installed: the backend's own packages (packaging) are in this stage's Python, and
# without it pip would count them as installed and leave them out of /install.
COPY requirements.lock requirements-build.lock ./
RUN pip install --no-cache-dir --require-hashes -r requirements-build.lock \
 && pip install --no-cache-dir --prefix=/install --ignore-installed --require-hashes \
      -r requirements.lock
COPY pyproject.toml README.md ./
COPY monitor ./monitor
COPY connectors ./connectors
COPY classifiers ./classifiers
COPY config ./config
# The project itself, resolving nothing past the lock, built with the locked backend.
# hadolint ignore=DL3013
RUN pip install --no-cache-dir --prefix=/install --no-deps --no-build-isolation .

FROM python:3.11-slim
RUN groupadd --gid 10001 socmon \
 && useradd --create-home --uid 10001 --gid 10001 socmon \
 && mkdir -p /etc/socmon /var/lib/socmon \
 && chown socmon:socmon /var/lib/socmon
COPY --from=build /install /usr/local
COPY config/example.yaml /etc/socmon/socmon.yaml
ENV SOCMON_CONFIG=/etc/socmon/socmon.yaml \
    SOCMON_DATA_DIR=/var/lib/socmon \
    SOCMON_WEB__HOST=0.0.0.0 \
    PYTHONUNBUFFERED=1
USER 10001:10001
WORKDIR /var/lib/socmon
VOLUME ["/var/lib/socmon"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4).status != 200)"]
# `socmon run` applies pending migrations before it starts polling.
CMD ["socmon", "run"]
