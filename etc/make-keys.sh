#!/bin/sh
# make-keys.sh [DIR] - makes the secrets a tandem pair uses, in DIR
# (default /etc/tandem), without overwriting any that exist:
#   sync.key             pre-shared key for the peer sync channel (copy the
#                        same file to both boxes)
#   test-ca.pem/.key     a throw-away CA, and a certificate it signed for
#   www.pem/www.key      www.example.com (for trying TLS; use real ones in
#                        production)
set -eu
dir=${1:-/etc/tandem}
umask 077
mkdir -p "$dir"
cd "$dir"
if [ ! -e sync.key ]; then
    openssl rand -hex 32 > sync.key
    echo "made $dir/sync.key (copy it to the peer box)"
fi
if [ ! -e test-ca.pem ]; then
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
        -subj "/CN=tandem test CA" -keyout test-ca.key -out test-ca.pem 2>/dev/null
    echo "made $dir/test-ca.pem"
fi
if [ ! -e www.pem ]; then
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -subj "/CN=www.example.com" -keyout www.key -out www.csr 2>/dev/null
    printf 'subjectAltName=DNS:www.example.com,DNS:example.com\n' > www.ext
    openssl x509 -req -in www.csr -CA test-ca.pem -CAkey test-ca.key -CAcreateserial \
        -days 825 -extfile www.ext -out www.pem 2>/dev/null
    rm -f www.csr www.ext test-ca.srl
    echo "made $dir/www.pem and www.key (signed by test-ca.pem)"
fi
# tandem-proxy runs as user tandem under systemd: let its group read them.
if getent group tandem >/dev/null 2>&1; then
    chgrp tandem sync.key www.key www.pem test-ca.pem
    chmod 0640 sync.key www.key www.pem test-ca.pem
fi
