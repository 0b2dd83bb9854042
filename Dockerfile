# Multi-stage build: a static-ish binary on a slim Debian with the PostgreSQL
# server binaries, so the image runs with no configuration (private cluster
# under /var/lib/wacrm) or against DATABASE_URL.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
# The SQL the query! macros check, so the build needs no database.
COPY .sqlx ./.sqlx
COPY .cargo ./.cargo
COPY src ./src
COPY migrations ./migrations
COPY templates ./templates
COPY static ./static
COPY benches ./benches
RUN cargo build --release --locked --bin wacrm

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends postgresql-15 ca-certificates \
    && rm -rf /var/lib/apt/lists/*
ENV PATH="/usr/lib/postgresql/15/bin:${PATH}" \
    WACRM_DATA_DIR=/var/lib/wacrm \
    WACRM_BIND=0.0.0.0:3000
RUN mkdir -p /var/lib/wacrm && chown postgres:postgres /var/lib/wacrm
COPY --from=build /src/target/release/wacrm /usr/local/bin/wacrm
# PostgreSQL refuses root: run everything as the unprivileged postgres user.
USER postgres
VOLUME /var/lib/wacrm
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=3s CMD ["/bin/bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/3000 && printf 'GET /readyz HTTP/1.0\\r\\n\\r\\n' >&3 && grep -q ' 200 ' <&3"]
ENTRYPOINT ["/usr/local/bin/wacrm"]
CMD ["serve"]
