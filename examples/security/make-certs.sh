#!/usr/bin/env bash
# Makes a CA, a server certificate for localhost and client certificates for drey's mTLS, with openssl.
#   bash examples/security/make-certs.sh [dir] [user:group ...]     (default: certs alice:platform bob:dev)
set -euo pipefail
dir=${1:-certs}
shift || true
users=("${@:-alice:platform}")
[ $# -gt 0 ] || users=(alice:platform bob:dev)
mkdir -p "$dir"
cd "$dir"
openssl req -x509 -newkey rsa:2048 -nodes -days 365 -subj "/CN=drey example CA" -keyout ca-key.pem -out ca.pem 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout server-key.pem -out server.csr 2>/dev/null
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 365 -out server.pem \
  -extfile <(printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n') 2>/dev/null
for entry in "${users[@]}"; do
  user=${entry%%:*} group=${entry#*:}
  openssl req -newkey rsa:2048 -nodes -subj "/O=$group/CN=$user" -keyout "$user-key.pem" -out "$user.csr" 2>/dev/null
  openssl x509 -req -in "$user.csr" -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 365 -out "$user.pem" \
    -extfile <(printf 'extendedKeyUsage=clientAuth\n') 2>/dev/null
done
rm -f ./*.csr ca.srl
chmod 600 ./*-key.pem
ls
