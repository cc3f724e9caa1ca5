#!/bin/sh
# Makes the certificates of the TLS examples (examples/tls/) with openssl, as NGINXaaS would take
# them from Key Vault: for each example a CA and a certificate for internal.nginxaas.nginx.com, the
# name zone_sync checks (zone_sync_server's host, unless zone_sync_ssl_name says otherwise).
#   server_ca.pem, server.crt, server.key             tls/cluster-tls.conf (TLS, peer verified)
#   zone_sync_ca.pem, zone_sync.crt, zone_sync.key    tls/cluster-mtls.conf (mutual TLS)
# Then: bin/zonesync cluster -p examples -c tls/cluster-tls.conf (or tls/cluster-mtls.conf).
set -eu
dir=$(cd "$(dirname "$0")/tls" && pwd)
name=internal.nginxaas.nginx.com
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Our own openssl configuration, so nothing depends on the system's openssl.cnf.
printf '[req]\ndistinguished_name = dn\nprompt = no\n[dn]\n' >"$work/openssl.cnf"
export OPENSSL_CONF="$work/openssl.cnf"
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

# ca NAME CN: a self-signed CA, NAME.pem; its key lives only while this script runs.
ca() {
  key "$work/$1.key"
  openssl req -x509 -key "$work/$1.key" -out "$dir/$1.pem" -subj "/CN=$2" -days 3650 \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
}

# leaf NAME CA USAGES: NAME.crt and NAME.key for $name, signed by CA, for the extended key usages.
leaf() {
  key "$dir/$1.key"
  openssl req -new -key "$dir/$1.key" -subj "/CN=$name" -out "$work/$1.csr"
  printf 'subjectAltName = DNS:%s\nextendedKeyUsage = %s\nbasicConstraints = CA:FALSE\n' "$name" "$3" \
    >"$work/$1.ext"
  openssl x509 -req -in "$work/$1.csr" -CA "$dir/$2.pem" -CAkey "$work/$2.key" -CAcreateserial \
    -CAserial "$work/$2.srl" -days 825 -extfile "$work/$1.ext" -out "$dir/$1.crt" 2>/dev/null
  chmod 600 "$dir/$1.key"
}

ca server_ca "zonesync example server CA"
leaf server server_ca serverAuth
ca zone_sync_ca "zonesync example zone_sync CA"
# The same certificate serves (listen ... ssl) and authenticates as a client (zone_sync_ssl_certificate).
leaf zone_sync zone_sync_ca serverAuth,clientAuth
echo "certificates for $name written to $dir"
