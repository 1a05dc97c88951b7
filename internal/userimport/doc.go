// Package userimport reads the CSV file of `spaceauth user import`: one
// user per row, with either a clear password or a hash from another system.
// It only parses and reports line numbers; the domain does the rest.
package userimport
