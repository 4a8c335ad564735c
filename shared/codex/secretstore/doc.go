// Package secretstore implements codex.TokenStore on AWS Secrets Manager:
// one secret per account, named prefix+account, whose value is a Codex
// auth.json document (docs/DESIGN.md §2.5.2, §8.2).
//
// The Refresher writes a rotated token in two steps (docs/DESIGN.md §3.3
// step 9): WritePending stores it as a new version labelled
// CODEXGATE_PENDING (never AWSPENDING, which would block AWS rotation) with
// a version id chosen before calling OAuth, so a timed-out write can be
// retried with the same id; Promote then moves AWSCURRENT with a
// compare-and-swap (UpdateSecretVersionStage with RemoveFromVersionId),
// which fails with codex.ErrStaleVersion when another writer moved
// AWSCURRENT meanwhile. Reads name the AWSCURRENT stage or a version id;
// whether a version exists is asked of the version itself, since
// DescribeSecret leaves out versions without a label. Imports and logins
// write the same way, under the account's lease (codex.Refresher.Replace);
// Create makes a secret's first version.
//
// Account state, quota snapshots, API keys and leases live in the DynamoDB
// table (packages statestore and dynamolease), not here.
package secretstore
