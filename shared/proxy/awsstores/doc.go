// Package awsstores connects the proxy to codexgate's stores: client API
// keys and account states in the DynamoDB table (package statestore). The
// account list comes straight from secretstore.Store, which already is a
// proxy.AccountLister.
//
// The proxy defines the small interfaces it consumes (proxy.KeyVerifier,
// proxy.StateStore) in its own terms; this package translates statestore's
// types and sentinel errors into them, so neither package imports the other.
package awsstores
