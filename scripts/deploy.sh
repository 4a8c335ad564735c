#!/usr/bin/env bash
# deploy.sh — `make deploy`: build and deploy template.yaml to AWS with the
# SAM CLI, without `sam deploy --guided`'s questions, then print the endpoint
# and the next steps (docs/DEPLOY.md).
#
#   1. checks the SAM CLI is at least $SAM_MIN (scripts/sam-check.sh),
#      and that AWS credentials work;
#   2. decides the parameters: the deployed stack's own values on a redeploy
#      (so nothing set before is lost), the environment's when given
#      (ALARM_EMAIL, EXISTING_TABLE, SCHEDULED_CONCURRENCY), and what the
#      account allows: no reserved concurrency when it would leave fewer than
#      100 unreserved slots (Lambda refuses), "existing" for
#      ApiGatewayAccountRole when the account already has a logging role;
#   3. sam build (static, the flags of `make build`), sam deploy (stack, region,
#      capabilities from samconfig.toml, the parameters from 2);
#   4. builds build/codexgate, prints ApiUrl, TableName, the dashboard and
#      what to run next.
#
# Alarms reach someone only through a subscription on the stack's alarm
# topic. Without ALARM_EMAIL (or AlarmEmail in PARAMS, or on the deployed
# stack, or a confirmed subscription on its topic) the deploy asks for an
# address when run from a terminal (an empty answer goes on); otherwise, or
# with YES=1, it says loudly, before the build and again at the end, that
# alarms notify nobody and how to subscribe later.
#
# Environment: STACK (default codexgate), AWS_REGION (default: samconfig's
# us-east-1), ALARM_EMAIL, EXISTING_TABLE, SCHEDULED_CONCURRENCY, PARAMS
# ("Key=Value ..." for any other parameter), YES=1 (no questions: no
# change-set confirmation, no alarm address), SAM (default sam), AWS
# (default aws).
#
# Why no --guided: `sam deploy --guided` asks "ProxyFunction may not have
# authorization defined, Is this okay? [y/N]" and aborts on the default N.
# The API has no API Gateway authorizer on purpose: the proxy checks
# codexgate keys itself. A non-guided deploy only prints that warning.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

# The first SAM CLI whose bundled aws-sam-translator (1.109.0) accepts
# ResponseTransferMode on an Api event (aws/serverless-application-model#3881;
# SAM CLI 1.158.0 moved to that translator). Older ones reject the template
# in sam build/validate.
SAM=${SAM:-sam}
AWS=${AWS:-aws}
stack=${STACK:-codexgate}
region=${AWS_REGION:-${AWS_DEFAULT_REGION:-us-east-1}}
per_function=${SCHEDULED_CONCURRENCY:-}
unreserved_min=100 # Lambda keeps this many slots unreserved

say() { echo "deploy: $*" >&2; }
die() {
	echo "deploy: $*" >&2
	exit 1
}

# shellcheck source=scripts/sam-check.sh
source "$root/scripts/sam-check.sh"
check_sam "make deploy runs sam build and sam deploy"
command -v "$AWS" >/dev/null 2>&1 || die "AWS CLI not found: make deploy reads the account's settings and the stack's outputs with it"
command -v go >/dev/null 2>&1 || die "Go not found: sam build compiles the functions with it"

aws_() { "$AWS" --region "$region" --output text "$@"; }

account=$(aws_ sts get-caller-identity --query Account 2>/dev/null) ||
	die "AWS credentials do not work (aws sts get-caller-identity failed): configure them (aws configure, AWS_PROFILE) first"
say "account $account, region $region, stack $stack, SAM CLI $sam_version"

# previous NAME: the deployed stack's value of parameter NAME (empty if none).
stack_params=$(aws_ cloudformation describe-stacks --stack-name "$stack" \
	--query 'Stacks[0].Parameters[].[ParameterKey,ParameterValue]' 2>/dev/null || true)
previous() { awk -F'\t' -v k="$1" '$1 == k { print $2 }' <<<"$stack_params"; }
[[ -n $stack_params ]] && say "stack $stack exists: keeping its parameters unless overridden"

alarm_email=${ALARM_EMAIL:-$(previous AlarmEmail)}
existing_table=${EXISTING_TABLE:-$(previous ExistingTableName)}

# param NAME: NAME's value in PARAMS (the last one), empty if none.
param() {
	local kv v=""
	for kv in ${PARAMS:-}; do
		[[ ${kv%%=*} == "$1" && $kv == *=* ]] && v=${kv#*=}
	done
	echo "$v"
}

# Alarms notify the topic's subscribers only: make sure there is one, or
# that nobody can miss that there is none.
alarms_nowhere=""
if [[ -z $(param AlarmEmail) && -z $alarm_email ]]; then
	confirmed=0
	if [[ -n $stack_params ]]; then
		topic=$(aws_ cloudformation describe-stacks --stack-name "$stack" \
			--query "Stacks[0].Outputs[?OutputKey=='AlarmTopicArn'].OutputValue" 2>/dev/null || true)
		if [[ $topic == arn:* ]]; then
			confirmed=$(aws_ sns list-subscriptions-by-topic --topic-arn "$topic" \
				--query "length(Subscriptions[?SubscriptionArn!='PendingConfirmation'])" 2>/dev/null || true)
			[[ $confirmed =~ ^[0-9]+$ ]] || confirmed=0
		fi
	fi
	if ((confirmed > 0)); then
		say "alarm topic: $confirmed confirmed subscription(s) (no ALARM_EMAIL needed)"
	elif [[ ${YES:-} != 1 && -t 0 ]]; then
		read -r -p "deploy: e-mail address for the alarms (empty: alarms notify nobody): " answer || answer=""
		answer=${answer//[[:space:]]/}
		if [[ -n $answer ]]; then
			[[ $answer == ?*@?*.?* ]] || die "$answer is not an e-mail address; run make deploy again"
			alarm_email=$answer
		else
			alarms_nowhere=1
		fi
	else
		alarms_nowhere=1
	fi
fi
warn_alarms() {
	say "**********************************************************************"
	say "WARNING: no AlarmEmail: the alarms (no account available, an account"
	say "  needing a login, failed refreshes or quota reads, 5xx) notify NOBODY."
	say "  Deploy with ALARM_EMAIL=you@example.com, or subscribe later:"
	say "  aws sns subscribe --region $region --topic-arn ${1:-<AlarmTopicArn output>} \\"
	say "    --protocol email --notification-endpoint you@example.com"
	say "  and confirm the mail AWS sends; \`codexgate doctor --stack $stack\` checks it."
	say "**********************************************************************"
}
[[ -n $alarms_nowhere ]] && warn_alarms
[[ -n $per_function ]] || per_function=$(previous ScheduledConcurrency)
[[ -n $per_function ]] || per_function=2

# Reserved concurrency needs >= 100 unreserved slots left afterwards; slots
# this stack already holds come back when it is updated.
if ((per_function > 0)); then
	limits=$(aws_ lambda get-account-settings \
		--query '[AccountLimit.ConcurrentExecutions,AccountLimit.UnreservedConcurrentExecutions]')
	read -r limit unreserved <<<"$limits"
	held=0
	for fn in "$stack-refresh" "$stack-quota-cron"; do
		r=$(aws_ lambda get-function-concurrency --function-name "$fn" \
			--query ReservedConcurrentExecutions 2>/dev/null || true)
		[[ $r =~ ^[0-9]+$ ]] && held=$((held + r))
	done
	if ((unreserved + held - 2 * per_function < unreserved_min)); then
		say "WARNING: this account's Lambda concurrency limit is $limit ($unreserved unreserved):"
		say "  reserving $per_function for each scheduled function would leave fewer than $unreserved_min"
		say "  unreserved, which Lambda refuses. Deploying WITHOUT a reservation: long streams"
		say "  may starve the token keep-alive. Ask for a higher quota (Service Quotas,"
		say "  'Concurrent executions', e.g. 1000), then run make deploy again."
		per_function=0
	fi
fi

# API Gateway's account-wide logging role (access logs need one).
logs_role=$(previous ApiGatewayAccountRole)
if [[ -z $logs_role ]]; then
	current=$(aws_ apigateway get-account --query cloudwatchRoleArn 2>/dev/null || true)
	if [[ -n $current && $current != None ]]; then
		logs_role=existing
		say "API Gateway already logs with $current: keeping it"
	else
		logs_role=create
	fi
fi

overrides=("ScheduledConcurrency=$per_function" "ApiGatewayAccountRole=$logs_role"
	"AlarmEmail=$alarm_email" "ExistingTableName=$existing_table")
# Keep every other parameter the stack was deployed with.
while IFS=$'\t' read -r k v; do
	case $k in
	"" | ScheduledConcurrency | ApiGatewayAccountRole | AlarmEmail | ExistingTableName) ;;
	*) overrides+=("$k=$v") ;;
	esac
done <<<"$stack_params"

say "sam build"
CGO_ENABLED=0 GOFLAGS="-tags=lambda.norpc -trimpath '-ldflags=-s -w -X github.com/codexgate/codexgate/shared/version.linked=$(cat VERSION)'" "$SAM" build --region "$region"

# PARAMS="Key=Value ..." sets any other template parameter (values without
# spaces), last so it wins; the stack keeps it on later deploys.
for kv in ${PARAMS:-}; do
	[[ $kv == *=* ]] || die "PARAMS: $kv is not Key=Value"
	k=${kv%%=*}
	for i in "${!overrides[@]}"; do
		[[ ${overrides[$i]%%=*} == "$k" ]] && unset 'overrides[i]'
	done
	overrides+=("$kv")
done

# SAM parses Key=Value pairs split at spaces: quote every value (schedules
# contain spaces, an empty AlarmEmail must stay a value).
quoted=()
for kv in "${overrides[@]}"; do
	v=${kv#*=}
	v=${v//\\/\\\\}
	quoted+=("${kv%%=*}=\"${v//\"/\\\"}\"")
done
deploy_args=(deploy --stack-name "$stack" --region "$region" --parameter-overrides "${quoted[@]}")
[[ ${YES:-} == 1 ]] && deploy_args+=(--no-confirm-changeset)
say "sam ${deploy_args[*]}"
"$SAM" "${deploy_args[@]}"

outputs=$(aws_ cloudformation describe-stacks --stack-name "$stack" \
	--query 'Stacks[0].Outputs[].[OutputKey,OutputValue]')
output() { awk -F'\t' -v k="$1" '$1 == k { print $2 }' <<<"$outputs"; }
api_url=$(output ApiUrl)
table=$(output TableName)
prefix=$(output SecretPrefix)
dashboard=$(output DashboardUrl)
[[ -n $api_url && -n $table ]] || die "stack $stack has no ApiUrl/TableName output: did the deploy finish?"

mkdir -p build && { [[ -f build/.gitignore ]] || echo '*' >build/.gitignore; }
go build -ldflags "-X github.com/codexgate/codexgate/shared/version.linked=$(cat VERSION)" -o build/codexgate ./cmd/codexgate

cat <<EOF

codexgate is deployed.
  endpoint  $api_url
  table     $table
  secrets   ${prefix}<account>
  dashboard ${dashboard:-"(none: an older template?)"}

Next steps (docs/DEPLOY.md):
  export AWS_REGION=$region CODEXGATE_TABLE=$table CODEXGATE_SECRET_PREFIX=$prefix
  build/codexgate login --account work          # a login of codexgate's own
  build/codexgate keys create --name laptop     # prints the key once
  export CODEXGATE_API_KEY=<that key>
  build/codexgate doctor --stack $stack         # every check must pass
EOF
if [[ $per_function == 0 ]]; then
	echo "  (no reserved concurrency: see the warning above)"
fi
if [[ -n $alarm_email && -z $(previous AlarmEmail) ]]; then
	echo "  confirm the subscription mail AWS sent to $alarm_email, or alarms reach nobody"
fi
# Said again last, where it cannot scroll away.
[[ -n $alarms_nowhere ]] && warn_alarms "$(output AlarmTopicArn)"
exit 0
