# The gateway as a container image: a static binary on distroless, run as a non-root user.
#
#   docker build --build-arg VERSION="$(git describe --tags --always --dirty)" -t akinon-gateway .
#   docker run --rm akinon-gateway -version
#   docker run --rm -p 8080:8080 -e REDIS_URL=redis://redis:6379/0 -e PUBLIC_URL=https://pay.example.com \
#     -e GATEWAY_USERNAME=… -e GATEWAY_PASSWORD=… -e HASH_KEY=… -e PROCESSOR=sandbox -e ALLOW_SANDBOX=1 akinon-gateway
#
# or `docker compose up --build` with compose.yaml (gateway and Redis). Configuration is the
# environment described in docs/configuration.md; cmd/gateway/deploy_test.go reads this file's
# runtime stage (ENV, EXPOSE, USER, ENTRYPOINT) to start the binary as the image would.
#
# There is no HEALTHCHECK: the distroless image has no shell or curl to run one. Orchestrators
# probe over HTTP on port 8080 instead: GET /healthz for liveness (200 while the process serves)
# and GET /readyz for readiness (503, with its reason, while Redis does not answer or may evict).
#
# The .git directory is not sent (.dockerignore), so the VCS fields of `gateway -version` read
# "unknown" in the image; VERSION carries the revision instead.

# The build runs on the builder's platform and cross-compiles for the target one.
FROM --platform=$BUILDPLATFORM golang:1.26 AS build
WORKDIR /src

# Modules first, in their own layer: it is rebuilt only when go.mod or go.sum change.
COPY go.mod go.sum ./
RUN go mod download

COPY . .
ARG VERSION=dev
ARG TARGETOS
ARG TARGETARCH
RUN CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -ldflags "-s -w -X github.com/akinon-gateway/gateway/cmd/gateway/app.version=${VERSION}" -o /out/gateway ./cmd/gateway

# static-debian12 carries CA certificates (for https webhooks) and nothing to run but the binary.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/gateway /gateway
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/gateway"]
