// Package i18n owns spaceauth's user-facing words: the supported languages,
// how a path segment or an Accept-Language header picks one of them, and the
// embedded message catalogs (envelope messages, page and email texts, date
// formats) with English as the fallback for anything missing.
package i18n
