# sam-check.sh — sourced by scripts/deploy.sh and scripts/package.sh: the
# SAM CLI both need, checked one way. The caller defines die() and sets SAM
# (the command) before sourcing it.

# SAM_MIN is the first SAM CLI whose translator accepts ResponseTransferMode,
# which template.yaml's streamed API needs.
SAM_MIN=1.158.0

# version_ge A B: A >= B, dotted numeric versions.
version_ge() {
	[[ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -1)" == "$2" ]]
}

# check_sam WHY: the SAM CLI is installed and at least SAM_MIN, and sets
# sam_version; WHY says what the caller runs it for, in the message when it
# is missing.
check_sam() {
	command -v "$SAM" >/dev/null 2>&1 ||
		die "SAM CLI not found: $1; install it (https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/install-sam-cli.html), version $SAM_MIN or later"
	sam_version=$("$SAM" --version 2>/dev/null | grep -oE '[0-9]+\.[0-9]+\.[0-9]+' | head -1 || true)
	[[ -n $sam_version ]] || die "cannot read the SAM CLI version from '$SAM --version'"
	version_ge "$sam_version" "$SAM_MIN" ||
		die "SAM CLI $sam_version is too old: template.yaml streams the API (ResponseTransferMode), which needs SAM CLI $SAM_MIN or later; upgrade it"
}
