# Builds the kubeharden image used by deploy/kubeharden.yaml: a static
# binary on a distroless, non-root base.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -tags kustomize_disable_go_plugin_support -ldflags "-s -w" -o /kubeharden ./cmd/kubeharden

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /kubeharden /kubeharden
USER 65532:65532
ENTRYPOINT ["/kubeharden"]
