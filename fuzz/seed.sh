#!/bin/sh
# Seeds the fuzz corpora from the example policies and requests (run from fuzz/).
set -e
mkdir -p corpus/policy_text corpus/request corpus/policy_structured
for d in ../examples/*/; do
  n=$(basename "$d")
  cp "$d/policy.pol" "corpus/policy_text/$n-policy.pol"
  cp "$d/tests.pol" "corpus/policy_text/$n-tests.pol"
  for r in "$d"/requests/*.json; do cp "$r" "corpus/request/$n-$(basename "$r")"; done
done
