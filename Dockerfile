# The `verify` container image: the released binary on Debian 12 (slim).
#
# Nothing is compiled here: the build context is a folder holding the `verify`
# binary at its root (the release workflow puts the static musl build of the
# release there; `cargo xtask test` puts target/debug/verify, built on
# Debian 12). See docs/install.md.
#
#   mkdir ctx && cp "$(command -v verify)" ctx/
#   docker build -f Dockerfile --build-arg VERSION=0.1.0 \
#     --build-arg COMMIT="$(git rev-parse HEAD)" -t verify:0.1.0 ctx
#   docker run --rm -v "$PWD:/work" -e AWS_REGION … verify:0.1.0 run environments/production.hcl
ARG BASE=debian:bookworm-slim
FROM ${BASE}

# CA certificates: the AWS SDK's rustls client trusts the system's roots.
# A user of its own: the gate reads, it needs no root.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ca-certificates \
 && apt-get clean && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --create-home --home-dir /home/verify \
      --shell /usr/sbin/nologin verify

COPY --chmod=0755 verify /usr/local/bin/verify

USER 10001:10001
ENV HOME=/home/verify
WORKDIR /work
ENTRYPOINT ["verify"]
CMD ["--help"]

# Last, so that a new version or commit reuses every layer above.
ARG BASE
ARG VERSION=unknown
ARG COMMIT=unknown
LABEL org.opencontainers.image.title="verify" \
      org.opencontainers.image.description="Is this AWS environment really ready? A launch gate as code: go / no-go." \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${COMMIT}" \
      org.opencontainers.image.source="https://github.com/your-org/verify" \
      org.opencontainers.image.base.name="${BASE}"
