#!/usr/bin/env bash
# The media pipeline end to end, locally, in a throwaway store: run from the repository root with
#   bash samples/media-pipeline/run.sh
# Set KEEP_STORE=1 to keep the temporary store (its path is printed) for `statelane history`.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
if [[ -x "$root/.venv/bin/statelane" ]]; then
  bin="$root/.venv/bin"
  statelane="$bin/statelane"
  python="$bin/python"
else
  statelane="$(command -v statelane)"
  python="$(dirname "$statelane")/python"
  [[ -x "$python" ]] || python="$(command -v python3)"
fi

tmp="$(mktemp -d "${TMPDIR:-/tmp}/media-pipeline.XXXXXX")"
if [[ -z "${KEEP_STORE:-}" ]]; then
  trap 'rm -rf "$tmp"' EXIT
fi
export STATELANE_DB="sqlite:///$tmp/media.db"  # never the user's .statelane/ store
step() { printf '\n== %s\n' "$*"; }

step "queues: catalog (poisoned messages go to catalog-dlq after 2 receives) and notifications"
"$statelane" queues create catalog-dlq
"$statelane" queues create catalog --dead-letter catalog-dlq --max-receives 2
"$statelane" queues create notifications

step "topic media-ready: catalog gets SNS's envelope, notifications the raw message of transcoded events"
"$statelane" topics create media-ready
"$statelane" topics subscribe media-ready --queue catalog
"$statelane" topics subscribe media-ready --queue notifications --raw \
  --filter-policy '{"eventType": ["transcoded"]}'

step "a corrupt upload notice reaches the topic (no eventType: the notifications filter drops it)"
"$statelane" topics publish media-ready 'corrupt upload notice: videos/holiday.mov.part'

step "an upload starts the workflow"
"$statelane" start "$here/definition.json" --input-file "$here/input.json" \
  --state-machine-name media-pipeline --name upload-holiday

step "worker: transcode every level, announce; the execution then parks on its task token (durably)"
"$statelane" worker --lambdas "$here/lambdas.py" --until-idle

step "catalog worker: the poison is released twice and lands in the DLQ; the announcement gets SendTaskSuccess"
"$python" "$here/approver.py" --wait 20

step "worker: the answered token resumes the execution, which finishes"
"$statelane" worker --lambdas "$here/lambdas.py" --until-idle

step "the execution"
"$statelane" describe upload-holiday

step "catalog-dlq: the poisoned message"
"$statelane" queues receive catalog-dlq --max 10 --json

step "notifications: the raw announcement"
"$statelane" queues receive notifications --max 10 --json

if [[ -n "${KEEP_STORE:-}" ]]; then
  step "store kept: STATELANE_DB=$STATELANE_DB"
fi
