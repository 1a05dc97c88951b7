// Package store defines spaceauth's persistent records and the storage
// interface every backend implements. It imports no other internal package;
// the conformance suite in storetest holds each implementation to one
// behaviour.
package store
