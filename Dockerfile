# drove in a container: `drove-runtime` is PID 1 and supervises the apps of an ecosystem file.
#
#   docker build -t drove-cluster-example .
#   docker run --rm -p 3000:3000 drove-cluster-example          # the bundled clustered Node app
#   docker exec <container> drove list                          # the CLI talks to PID 1's socket
#   docker stop <container>                                     # SIGTERM: apps stop within kill_timeout
#
# Your own app: build FROM this image (or copy /opt/drove/bin from it), COPY your app and its
# ecosystem file into /app, keep ENTRYPOINT, and set CMD to the file (and `--env <name>`).
# docs/operations.md ("Containers") and docs/scaling.md explain the choices below.
#
# deploy/check.sh runs this file's build steps on the host, the same commands in the same order
# (the paths /src, /build and /opt/drove mapped to scratch directories), then runs the final
# stage's ENTRYPOINT + CMD against the example; keep every RUN of the build stage one command
# line that bash can run as it is.

# ---- stage 1: build ------------------------------------------------------------------------
FROM debian:12-slim AS build

# The build dependencies of scripts/setup.sh, without its test, fuzz and lint tools
# (libcpp-httplib-dev: drove-web, the opt-in metrics endpoint and dashboard, DROVE_METRICS_ADDR).
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends build-essential cmake pkg-config libuv1-dev nlohmann-json3-dev libyaml-cpp-dev libcli11-dev libfmt-dev libncurses-dev zlib1g-dev libcpp-httplib-dev && rm -rf /var/lib/apt/lists/*

WORKDIR /src
COPY . /src

# The flags CI builds and tests with (scripts/build.sh: RelWithDebInfo, warnings are errors; the
# compiler is Debian 12's gcc, here as there), without the tests. DROVE_STATIC_DEPS (on by
# default) links libuv, yaml-cpp, zlib, fmt and libstdc++ into the binary: it needs only libc.
RUN cmake -S /src -B /build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDROVE_WERROR=ON -DDROVE_TESTS=OFF -DCMAKE_INSTALL_PREFIX=/opt/drove
RUN cmake --build /build -j"$(nproc)"
# --strip: the debug info stays in the build stage; /opt/drove/bin holds drove, the
# drove-runtime link to it and drove-web.
RUN cmake --install /build --strip

# ---- stage 2: runtime ----------------------------------------------------------------------
FROM debian:12-slim

# nodejs (Debian 12: Node 18) runs Node apps, cluster mode included. Nothing else is needed by
# drove itself (see above). libcpp-httplib0.11 is drove-web's (the metrics endpoint and the
# dashboard: `-e DROVE_METRICS_ADDR=0.0.0.0:9615 -e DROVE_METRICS_ALLOW_REMOTE=1 -p 9615:9615`
# for a Prometheus scrape from outside the container; docs/monitoring.md). Add your apps'
# interpreters here (python3, ...). With -DDROVE_STATIC_DEPS=OFF the binary would also need
# libuv1 libyaml-cpp0.7 libfmt9 zlib1g.
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nodejs libcpp-httplib0.11 && rm -rf /var/lib/apt/lists/*

# A fixed uid, so that Kubernetes' runAsNonRoot / runAsUser can check and match it.
RUN useradd --system --uid 10001 --user-group --create-home --home-dir /home/drove --shell /usr/sbin/nologin drove

COPY --from=build /opt/drove/bin/ /opt/drove/bin/
# node_metrics' preload (docs/monitoring.md), found beside the binary.
COPY --from=build /opt/drove/share/drove/ /opt/drove/share/drove/
ENV PATH=/opt/drove/bin:$PATH \
    DROVE_HOME=/home/drove/.drove

# The example: the README's clustered Node app, 2 instances sharing port 3000.
WORKDIR /app
COPY examples/cluster-app/ /app/

USER drove
EXPOSE 3000
# drove-runtime stops every app gracefully on SIGTERM (each within its kill_timeout, 5 s in the
# example), then exits 0; give `docker stop -t` more than the largest kill_timeout.
STOPSIGNAL SIGTERM
# `drove ping` exits 0 when the daemon (PID 1) answers on its control socket.
HEALTHCHECK --interval=10s --timeout=5s --start-period=10s --retries=3 CMD ["drove", "ping"]
ENTRYPOINT ["drove-runtime"]
CMD ["ecosystem.config.json"]
