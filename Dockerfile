# kcptun-go container image: both binaries, static, on distroless.
#
# Build from the checked-out tree (nothing is cloned; the build context is this directory):
#   docker build -t kcptun-go .
#   docker build -t kcptun-go --build-arg VERSION=20260101 .
#   docker buildx build --platform linux/amd64,linux/arm64,linux/arm/v7 -t kcptun-go .
#
# Run the server (the default entrypoint) or the client (--entrypoint /bin/client); the arguments
# are the usual flags:
#   docker run -d --name kcptun-server -p 29900:29900/udp kcptun-go \
#       -l :29900 -t 172.17.0.1:8388 -mode fast3 -key 'your secret'      (172.17.0.1: the host)
#   docker run -d --name kcptun-client -p 127.0.0.1:12948:12948 --entrypoint /bin/client kcptun-go \
#       -l :12948 -r SERVER_IP:29900 -mode fast3 -key 'your secret'
#   docker run --rm kcptun-go -v
# With a JSON file: -v "$PWD/server.json:/etc/kcptun/server.json:ro" ... kcptun-go -c /etc/kcptun/server.json
# (the file must be readable by uid 65532), or keep the key out of the command line with
# -e KCPTUN_KEY='your secret'.
#
# Ports (EXPOSE only documents them; publish with -p):
#   29900/udp  server --listen default (a range -l :29900-29910 needs -p 29900-29910:29900-29910/udp)
#   29900/tcp  server with --tcp (fake TCP) on the same port
#   12948/tcp  client --localaddr default
#
# The image runs as the unprivileged user nonroot (uid 65532). --tcp needs raw sockets and
# iptables rules, i.e. root with NET_RAW and NET_ADMIN: build the "tcp" target, which adds the
# iptables command, and run it on the host's network:
#   docker build --target tcp -t kcptun-go:tcp .
#   docker run -d --network host --cap-add NET_RAW --cap-add NET_ADMIN kcptun-go:tcp -l :29900 -t 127.0.0.1:8388 --tcp ...

ARG GO_VERSION=1.26.8

# ---- build: static binaries, cross-compiled on the builder's own platform -------------------
FROM --platform=$BUILDPLATFORM golang:${GO_VERSION}-alpine AS build
WORKDIR /src
# Modules first, so that a source change does not download them again.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=docker
ARG TARGETOS TARGETARCH TARGETVARIANT
RUN set -eu; \
    case "$TARGETARCH" in \
      arm) export GOARM="${TARGETVARIANT#v}" ;; \
      mips|mipsle) export GOMIPS=softfloat ;; \
    esac; \
    CGO_ENABLED=0 GOOS="$TARGETOS" GOARCH="$TARGETARCH" \
      go build -trimpath -buildvcs=false -ldflags "-X main.version=${VERSION} -s -w" -o /out/ ./client ./server

# ---- tcp: root, with iptables, for --tcp (docker build --target tcp) -----------------------
FROM alpine:3.22 AS tcp
RUN apk add --no-cache iptables ip6tables
COPY --from=build /out/client /bin/client
COPY --from=build /out/server /bin/server
EXPOSE 29900/udp 29900/tcp 12948/tcp
ENTRYPOINT ["/bin/server"]

# ---- default: distroless static, non-root ---------------------------------------------------
# distroless/static has no shell or package manager (a few MB), ships CA certificates, tzdata and
# /etc/passwd with the nonroot user; the binaries need nothing else (CGO_ENABLED=0).
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/client /bin/client
COPY --from=build /out/server /bin/server
USER nonroot:nonroot
EXPOSE 29900/udp 29900/tcp 12948/tcp
ENTRYPOINT ["/bin/server"]
