# syntax=docker/dockerfile:1
# socmon: build the wheel in one stage, run it as an unprivileged user in the next.

FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY monitor ./monitor
COPY connectors ./connectors
COPY classifiers ./classifiers
COPY config ./config
# The project's own pyproject.toml pins every dependency range.
# hadolint ignore=DL3013
RUN pip install --no-cache-dir --prefix=/install .

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
