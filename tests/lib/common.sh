# Shared helpers for the test plumbing. Source it; it sets ROOT (the project root, the folder
# that holds sqitch.plan and the Makefile) and defines a few small functions.
# shellcheck shell=bash disable=SC2034  # (variables used by the files that source this one)

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export ROOT
VENV="$ROOT/.venv"         # made by setup.sh
PY="$VENV/bin/python"

# header TEXT: print a visible step header.
header() { printf '\n==== %s ====\n' "$*"; }

# note TEXT / die TEXT: messages on stderr; die stops the script.
note() { printf '%s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }
