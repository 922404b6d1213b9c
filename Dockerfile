# One image with every service; the chart picks the binary per Deployment.
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --workspace --bins \
 && mkdir /out \
 && cp target/release/auth target/release/billing target/release/items \
       target/release/slots target/release/order-api target/release/mediator /out/

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --uid 10001 --no-create-home --shell /usr/sbin/nologin shop
COPY --from=build /out/ /usr/local/bin/
USER 10001
