// Package password hashes and verifies passwords: Argon2id in PHC string
// format for everything new, bcrypt and ASP.NET Identity v2/v3 (PBKDF2)
// verified for imported users and flagged for upgrade, with the costs a
// stored hash may ask for bounded so a hostile hash cannot exhaust memory.
// Policy is what a new password must meet: 8 to 256 code points, not one of
// the 10,000 most common passwords, and not the email address nor its local
// part (both compared case-insensitively), since "alice.martin" is as
// guessable as "alice.martin@example.com" to anyone who knows the address.
package password
