// Package mail delivers the durable outbox: a worker that leases due
// messages from the store, hands them to a Sender (SMTP, or a directory of
// .eml files for development) and records the outcome, retrying temporary
// failures with exponential backoff. Composition of the messages lives in
// compose.
package mail
