#!/usr/bin/env bash
# First start of `make run`: creates a development credentials file with one token per role
# and prints the tokens once. Only SHA-256 hashes are stored; later starts print nothing.
#   scripts/dev-credentials.sh TRIAGECTL CREDENTIALS_FILE
set -euo pipefail
triagectl=$1
file=$2
[ -e "$file" ] && exit 0
umask 077
echo "First start: development tokens (shown once; only their SHA-256 is kept in $file):"
for role in intake triager supervisor monitor admin; do
  token=$("$triagectl" admin add-token --credentials-file "$file" --principal "dev-$role" \
          --role "$role" 2>/dev/null)
  printf '  %-10s export TRIAGECTL_TOKEN=%s\n' "$role" "$token"
done
