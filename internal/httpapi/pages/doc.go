// Package pages renders spaceauth's server-side portal pages — sign-in,
// password reset, account and error pages — from embedded html/template
// files with one layout and one stylesheet, every text taken from the i18n
// catalog. Handlers fill a Page and call Renderer.Render.
package pages
