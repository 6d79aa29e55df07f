#!/bin/sh
# The namespace and saksflyt's custom search attributes, each created only when missing. Run by
# docker/compose.yaml's temporal-setup job in temporalio/admin-tools; the `temporal` CLI reads
# TEMPORAL_ADDRESS. SEARCH_ATTRIBUTES is "Name=Type ..." (tests/test_docker.py holds it to
# workflows/search_attributes.py).
set -eu

until temporal operator cluster health; do
    echo "waiting for Temporal at $TEMPORAL_ADDRESS"
    sleep 2
done

if ! temporal operator namespace describe --namespace "$NAMESPACE" > /dev/null 2>&1; then
    temporal operator namespace create --namespace "$NAMESPACE" --retention "$NAMESPACE_RETENTION"
    echo "namespace $NAMESPACE created"
fi

existing="$(temporal operator search-attribute list --namespace "$NAMESPACE")"
for attribute in $SEARCH_ATTRIBUTES; do
    name="${attribute%%=*}"
    kind="${attribute##*=}"
    if printf '%s\n' "$existing" | grep -qw "$name"; then
        echo "search attribute $name exists"
    else
        temporal operator search-attribute create --namespace "$NAMESPACE" --name "$name" \
            --type "$kind"
        echo "search attribute $name ($kind) created"
    fi
done
