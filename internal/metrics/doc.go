// Package metrics owns spaceauth's Prometheus instruments: HTTP requests by
// route and status with latency histograms, security events, the hashing
// pool, the outbox and the database pools. Everything lives in one
// registry made by New; nothing is global.
package metrics
