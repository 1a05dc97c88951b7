// Package compose turns spaceauth's outgoing emails — password reset,
// password changed, passwordless sign-in code — into localized subject,
// plain-text and HTML parts from embedded templates and the i18n catalog.
// It only composes; queuing and sending belong to the mail outbox.
package compose
