# Untested here: this machine has no Docker engine (only the client). The
# build is the same `go build` that CI runs.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/spaceauth ./cmd/spaceauth

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/spaceauth /usr/local/bin/spaceauth
USER nonroot:nonroot
WORKDIR /var/lib/spaceauth
ENV SPACEAUTH_DB=/var/lib/spaceauth/spaceauth.db \
    SPACEAUTH_LISTEN=:8080
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/spaceauth"]
CMD ["serve"]
