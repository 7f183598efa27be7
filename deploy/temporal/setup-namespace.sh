#!/bin/sh
# Creates the namespace and registers ks-onboard's search attributes on a Temporal server. Idempotent: run it after
# every start (docker-compose.yml's `temporal-setup` runs it in the admin-tools image). An attribute that exists with
# another type stops it with the server's message (see the README: OnboardingWorkspace became a KeywordList).
#
#   TEMPORAL_ADDRESS     the frontend, host:port (default temporal:7233)
#   DEFAULT_NAMESPACE    the namespace (deploy/temporal.env; default default)
#   NAMESPACE_RETENTION  how long closed runs are kept when the namespace is created (default 168h: HiBob's 4-day
#                        replay window needs at least 96h; an existing namespace is left as it is)
#   TEMPORAL_CLI         the temporal CLI (default temporal on PATH)
#   TEMPORAL_SETUP_WAIT  how many 2-second waits for the server to answer (default 90)
set -eu

ADDRESS=${TEMPORAL_ADDRESS:-temporal:7233}
NAMESPACE=${DEFAULT_NAMESPACE:-default}
RETENTION=${NAMESPACE_RETENTION:-168h}
CLI=${TEMPORAL_CLI:-temporal}
WAIT=${TEMPORAL_SETUP_WAIT:-90}

# The search attributes the workflows set (src/workflows/definitions.ts `SA`; test/deploy checks this list against it).
SEARCH_ATTRIBUTES="OnboardingUsername=Keyword OnboardingWorkspace=KeywordList OnboardingBatchId=Keyword OnboardingState=Keyword OnboardingSource=Keyword OnboardingEventId=Keyword"

attempt=0
until "$CLI" operator cluster health --address "$ADDRESS" >/dev/null 2>&1; do
  attempt=$((attempt + 1))
  if [ "$attempt" -ge "$WAIT" ]; then
    echo "setup-namespace: the Temporal server at $ADDRESS did not answer" >&2
    "$CLI" operator cluster health --address "$ADDRESS" >&2 || true
    exit 1
  fi
  sleep 2
done

if "$CLI" operator namespace describe --namespace "$NAMESPACE" --address "$ADDRESS" >/dev/null 2>&1; then
  echo "setup-namespace: namespace $NAMESPACE exists"
else
  echo "setup-namespace: creating namespace $NAMESPACE (retention $RETENTION)"
  "$CLI" operator namespace create --namespace "$NAMESPACE" --retention "$RETENTION" --address "$ADDRESS"
fi

# One call for all: the CLI refuses an attribute that exists with another type; the same type is accepted again.
set --
for entry in $SEARCH_ATTRIBUTES; do
  set -- "$@" --name "${entry%%=*}" --type "${entry#*=}"
done
# A namespace just created takes a few seconds to reach every frontend ("not found" meanwhile): only that is retried.
attempt=0
until output=$("$CLI" operator search-attribute create --namespace "$NAMESPACE" --address "$ADDRESS" "$@" 2>&1); do
  attempt=$((attempt + 1))
  case "$output" in
    *"not found"*) [ "$attempt" -lt 15 ] && { sleep 2; continue; } ;;
  esac
  echo "setup-namespace: could not register the search attributes on $NAMESPACE: $output" >&2
  exit 1
done
echo "setup-namespace: search attributes registered: $SEARCH_ATTRIBUTES"
