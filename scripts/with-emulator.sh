#!/usr/bin/env bash
# Run one command against the local AWS emulator:
#   start moto (scripts/emulator.sh up), run "$@" with the emulator's AWS environment,
#   ALWAYS stop moto afterwards, and exit with the command's status.
# On failure, the tail of moto's log is printed.
#
#   scripts/with-emulator.sh cargo test --workspace
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [[ $# -eq 0 ]]; then
  echo "usage: $0 COMMAND [ARGS...]" >&2
  exit 2
fi

export EMULATOR_PORT="${EMULATOR_PORT:-5055}"

stop_emulator() {
  local rc=$?
  trap - EXIT INT TERM
  if [[ $rc -ne 0 ]]; then
    echo "with-emulator: '$*' failed with status $rc" >&2
    scripts/emulator.sh logs || true
  fi
  scripts/emulator.sh down || true
  exit "$rc"
}
# Set the trap before starting, so a half-started emulator is cleaned up too.
trap 'stop_emulator "$@"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

scripts/emulator.sh up

# Point every AWS SDK (Rust, boto3, the aws CLI) at the emulator, with dummy credentials,
# and make sure nothing from the real environment (profiles, session tokens, IMDS) leaks in.
export AWS_ENDPOINT_URL="http://127.0.0.1:${EMULATOR_PORT}"
export AWS_ACCESS_KEY_ID=testing
export AWS_SECRET_ACCESS_KEY=testing
export AWS_REGION=us-east-1
export AWS_DEFAULT_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true
export BUCKETWARD_EMULATOR=1
unset AWS_SESSION_TOKEN AWS_SECURITY_TOKEN AWS_PROFILE AWS_DEFAULT_PROFILE

"$@"
