#!/usr/bin/env bash
# First start of `make run`: creates the encryption key file and the audit key file (32
# random bytes each, mode 0600) and a development credentials file with one token per role,
# printing the tokens once. Only SHA-256 hashes of tokens are stored. Later starts create
# only what is missing (e.g. the audit key of a var/ made by an older version).
#   scripts/dev-setup.sh TRIAGECTL KEY_FILE CREDENTIALS_FILE AUDIT_KEY_FILE
set -euo pipefail
triagectl=$1
key_file=$2
credentials=$3
audit_key_file=$4
umask 077
if [ ! -e "$key_file" ]; then
  head -c 32 /dev/urandom > "$key_file.tmp" && mv "$key_file.tmp" "$key_file"
  echo "Created encryption key $key_file (mode 0600). Back it up: without it the reports cannot be read."
fi
if [ ! -e "$audit_key_file" ]; then
  head -c 32 /dev/urandom > "$audit_key_file.tmp" && mv "$audit_key_file.tmp" "$audit_key_file"
  echo "Created audit key $audit_key_file (mode 0600). Back it up apart from the data: it keys the audit trail."
fi
[ -e "$credentials" ] && exit 0
echo "First start: development tokens (shown once; only their SHA-256 is kept in $credentials):"
for role in intake triager supervisor monitor admin; do
  token=$("$triagectl" admin add-token --credentials-file "$credentials" --principal "dev-$role" \
          --role "$role" 2>/dev/null)
  printf '  %-10s export TRIAGECTL_TOKEN=%s\n' "$role" "$token"
done
