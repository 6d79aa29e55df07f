#!/bin/sh
# Makes the secret files docker/compose.yaml reads, with fresh random values, for a trial of the
# stack: sh docker/dev-secrets.sh [DIR] (default: docker/secrets, which git ignores). A file that
# exists is kept. For a real deployment write the real values (TOPdesk's application password, the
# codec keys kept from before: docs/security.md) into the same files, or use the platform's secrets.
set -eu
dir="${1:-$(dirname "$0")/secrets}"
mkdir -p "$dir"
chmod 700 "$dir"

random() { # URL-safe random text from $1 bytes
    head -c "$1" /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n'
}

write() { # write NAME VALUE, unless NAME exists
    if [ -e "$dir/$1" ]; then
        echo "kept    $dir/$1"
    else
        # Readable by all, in a folder only its owner opens: compose bind-mounts each file as it is,
        # and the containers' users (saksflyt 10001, postgres, temporal) must read it.
        (umask 022 && printf '%s\n' "$2" > "$dir/$1")
        echo "created $dir/$1"
    fi
}

write postgres_password "$(random 24)"
# One AES-256 key, id local-1 (SAKSFLYT_CODEC_ACTIVE_KEY in compose.yaml): 32 bytes, base64.
write saksflyt_codec_keys "{\"local-1\": \"$(head -c 32 /dev/urandom | base64 | tr -d '\n')\"}"
write saksflyt_pseudonym_key "$(random 32)"
write saksflyt_webhook_secret "$(random 24)"
write saksflyt_dfo_webhook_secret "$(random 24)"
write saksflyt_topdesk_app_password "$(random 24)"
write saksflyt_codec_server_tokens "[\"$(random 24)\"]"
