// Package password hashes and verifies passwords: Argon2id in PHC string
// format for everything new, bcrypt and ASP.NET Identity v2/v3 (PBKDF2)
// verified for imported users and flagged for upgrade, and the policy a new
// password must meet (length, not the email, not a common password).
package password
