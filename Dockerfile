# syntax=docker/dockerfile:1
#
# dlp-gateway: outbound-email DLP gateway (SMTP in, SMTP relay out), with its
# Prometheus metrics endpoint and the review web app, as one unprivileged
# process. docker-compose.yml runs it for the trial; tests/e2e/test_compose.py
# checks this file against the compose file statically.
#
# Ports:   10025 SMTP in, 9465 Prometheus metrics, 8025 review web app.
# Config:  /etc/dlp-gateway/gateway.yaml (the repo's config/ is baked in; mount
#          a directory over /etc/dlp-gateway to replace it).
# State:   /var/lib/dlp-gateway (a volume).
# Relay:   the next hop is not set here: give it in gateway.yaml (relay.address)
#          or with --relay, since the built-in default 127.0.0.1:10026 means
#          "inside this container".

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# Unprivileged account with fixed ids, so volume ownership is predictable and
# orchestrators can verify runAsNonRoot from the numeric USER below.
RUN groupadd --system --gid 10001 dlp \
 && useradd --system --uid 10001 --gid dlp --no-create-home \
        --home-dir /var/lib/dlp-gateway --shell /usr/sbin/nologin dlp

# Install the package (console script dlp-gateway), then drop the sources.
COPY pyproject.toml README.md /tmp/dlp-gateway-src/
COPY gateway/ /tmp/dlp-gateway-src/gateway/
COPY detectors/ /tmp/dlp-gateway-src/detectors/
RUN pip install /tmp/dlp-gateway-src \
 && rm -rf /tmp/dlp-gateway-src

# Default configuration, read-only for the gateway user.
COPY config/ /etc/dlp-gateway/

# State directory, owned by the gateway user before it becomes a volume so a
# fresh named volume inherits that ownership.
RUN install -d -o 10001 -g 10001 -m 0750 /var/lib/dlp-gateway
VOLUME ["/var/lib/dlp-gateway"]
WORKDIR /var/lib/dlp-gateway

USER 10001:10001

EXPOSE 10025 9465 8025

# slim has no curl: probe /readyz (configuration loaded, downstream reachable,
# quarantine store writable) with the standard library. urlopen raises (exit
# status 1) on a refused connection, a timeout or an HTTP error status such as
# /readyz's 503.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:9465/readyz', timeout=4).read(1)"]

ENTRYPOINT ["dlp-gateway"]
CMD ["serve", "--config", "/etc/dlp-gateway", "--listen", "0.0.0.0:10025", "--metrics", "0.0.0.0:9465", "--review", "0.0.0.0:8025", "--data-dir", "/var/lib/dlp-gateway"]
