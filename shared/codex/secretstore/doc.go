// Package secretstore implements codex.TokenStore on AWS Secrets Manager:
// one secret per account, named prefix+account, whose value is a Codex
// auth.json document (DESIGN.md §2).
//
// The Refresher writes a rotated token in two steps (DESIGN.md §4 step 7):
// WritePending stores it as a new version labelled CODEXGATE_PENDING (never
// AWSPENDING, which would block AWS rotation) with a version id chosen
// before calling OAuth, so a timed-out write can be retried with the same id;
// Promote then moves AWSCURRENT with a compare-and-swap
// (UpdateSecretVersionStage with RemoveFromVersionId), which fails with
// codex.ErrStaleVersion when another writer moved AWSCURRENT meanwhile.
// Reads always name the AWSCURRENT stage. Put is the one other writer: an
// import or login, which moves AWSCURRENT to a fresh version.
//
// Account state, quota snapshots, API keys and leases live in the DynamoDB
// table (packages statestore and dynamolease), not here.
package secretstore
