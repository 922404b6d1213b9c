# syntax=docker/dockerfile:1
# One image holds all six services and shopctl; the chart's Deployments pick the binary
# (command: ["/usr/local/bin/<service>"]). Build from the repository root:
#   docker build -t shop:0.3.0 .
# and run one service by naming it: docker run --rm shop:0.3.0 auth
# Without an engine, scripts/image builds the same image (the same paths,
# user and convention) from Debian packages, and scripts/image-check starts
# every service from it.

FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
# BuildKit cache mounts keep downloaded crates and compiled dependencies
# between builds. target/ is a cache, not part of the layer, so the binaries
# are copied out in the same step. --locked: exactly Cargo.lock's versions.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/usr/local/cargo/git \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --workspace --bins \
 && mkdir -p /out \
 && for bin in auth billing order-api items slots mediator shopctl; do \
      cp "target/release/$bin" /out/; \
    done

FROM debian:bookworm-slim
# ca-certificates: for any TLS endpoint the services may be pointed at.
# The services run as uid/gid 10001 (the chart's runAsUser), never root.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --gid 10001 shop \
 && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin shop
COPY --from=build /out/ /usr/local/bin/
USER 10001:10001
# Every service listens on 127.0.0.1 unless told otherwise; in a container
# it must be all interfaces (the chart sets the same through its ConfigMap).
ENV HTTP_HOST=0.0.0.0
EXPOSE 8001 8002 8003 8004 8005 8006
