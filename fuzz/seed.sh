#!/bin/sh
# Seeds the fuzz corpora from the example policies, requests and cases (run from fuzz/).
# The request targets get each `requests/*.json` and the `request` object of each
# `cases/*.json` (extracted with jq when it is installed).
set -e
mkdir -p corpus/policy_text corpus/request corpus/policy_structured corpus/request_engines
for d in ../examples/*/; do
  n=$(basename "$d")
  cp "$d/policy.pol" "corpus/policy_text/$n-policy.pol"
  cp "$d/tests.pol" "corpus/policy_text/$n-tests.pol"
  for r in "$d"/requests/*.json; do
    cp "$r" "corpus/request/$n-$(basename "$r")"
    cp "$r" "corpus/request_engines/$n-$(basename "$r")"
  done
  if command -v jq >/dev/null 2>&1; then
    for c in "$d"/cases/*.json; do
      jq -c '.request' "$c" > "corpus/request_engines/$n-case-$(basename "$c")"
      cp "corpus/request_engines/$n-case-$(basename "$c")" "corpus/request/$n-case-$(basename "$c")"
    done
  fi
done
# The email target gets each address string of the getaddresses table.
mkdir -p corpus/email
if command -v jq >/dev/null 2>&1; then
  i=0
  jq -r '.cases[].input | @base64' ../tests/data/email_getaddresses.json | while read -r b; do
    i=$((i + 1))
    printf '%s' "$b" | base64 -d > "corpus/email/table-$i"
  done
fi
