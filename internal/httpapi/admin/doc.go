// Package admin is the operator console (SPEC §10): server-rendered pages
// at /admin for administrators on the system host and for User-Edit
// holders on their business's tenant host. Handlers call auth.Service's
// Console* methods, which hold the scoping rules; errors go to the portal's
// one error table through Deps.Fail.
package admin
