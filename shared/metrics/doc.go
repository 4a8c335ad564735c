// Package metrics writes CloudWatch Embedded Metric Format (EMF) lines: one
// JSON object per line on stdout, which CloudWatch Logs turns into metrics
// without any PutMetricData call.
//
// CloudWatch bills every metric (name and dimension values) that received
// data in a month, prorated by the hour, so a dimension per account or per
// key multiplies the bill: those are opt-in (CODEXGATE_DETAILED_METRICS).
//
// Every line lives in namespace "codexgate". The names below are an
// interface: template.yaml's alarms refer to them.
//
//	UsedPercent      Percent  dims [Account, Window]  used share of one usage window
//	                                                  (Window: "5h", "weekly", "other"); quota-cron,
//	                                                  only with CODEXGATE_DETAILED_METRICS
//	LimitReached     Count    dims [Account]          1 when the account is out of quota, else 0; quota-cron,
//	                                                  only with CODEXGATE_DETAILED_METRICS
//	AccountsLimited  Count    dims []                 accounts out of quota this run; quota-cron
//	QuotaFailures    Count    dims []                 accounts whose usage could not be read this run; quota-cron
//	Refreshes        Count    dims []                 access tokens renewed this run (or adopted from a
//	                                                  concurrent refresh); quota-cron and refresh
//	RefreshFailures  Count    dims []                 accounts whose refresh failed this run for a
//	                                                  reason other than a dead login; refresh
//	ReauthRequired   Count    dims []                 accounts this run found needing a new login
//	                                                  (`codexgate login`/`import`); quota-cron and refresh;
//	                                                  also 1 from any function the moment a refresh finds
//	                                                  a login dead
//	RotatedTokenNotStored Count dims []              1 when OpenAI rotated a refresh token that could not
//	                                                  be stored (the login is likely lost); any function
//	LeaseOutlived    Count    dims []                 1 when a refresh holder found another holder on its
//	                                                  lease (it stopped writing); any function
//	Requests, InputTokens, CachedInputTokens, OutputTokens, ReasoningTokens
//	                 Count    dims [Key] or []        one line per usage write the table accepted: in
//	                                                  Lambda one per proxied request with a final usage;
//	                                                  Key the client key's name with
//	                                                  CODEXGATE_DETAILED_METRICS, else no dimension; proxy
//	BudgetRefused    Count    dims [Key]              1 per request refused for a key's token budget;
//	                                                  property Budget: "daily" or "weekly"; proxy
//	NoAccountAvailable Count  dims []                 1 per request answered 503 no_available_account
//	                                                  (no account could take it: all paused, cooling
//	                                                  down or needing a login); proxy
//
// The dimensionless metrics are emitted on every run, zeros included, so an
// alarm on ReauthRequired (Maximum > 0) or RefreshFailures (Sum > 0) sees
// data and can treat missing data as breaching. Lines carry account names
// and numbers only, never tokens. NoAccountAvailable, like RotatedTokenNotStored
// and LeaseOutlived, is written only when it happens: its alarm treats
// missing data as "none happened".
package metrics
