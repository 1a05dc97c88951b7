// Package mail delivers the durable outbox: a Worker leases due messages
// from the store, hands them to a Sender (SMTPSender, or DirSender writing
// .eml files for development) and records the outcome. An SMTP 5xx about
// the message itself gives it up; every other failure is retried with
// exponential backoff. Composition of the messages lives in compose; an
// SMTP server for tests lives in mailtest.
package mail
