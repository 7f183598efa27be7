#!/bin/sh
# Writes fresh secrets for docker-compose.yml into deploy/secrets/ (never committed): env files and key files, each
# readable by its owner only. Refuses to overwrite any of them unless --force (a new codec key makes every payload
# already written unreadable; a new seal key every sealed password in flight).
#
#   deploy/make-secrets.sh [--force] [--dir <directory>]
#
# Needs only openssl. The KubeSphere password it writes is for the emulator of the `emulator` profile: for a real
# KubeSphere, put the worker's own password in <directory>/kubesphere-password (one line) instead.
set -eu

usage() {
  echo "usage: $0 [--force] [--dir <directory>]" >&2
  exit 2
}

force=0
dir=$(dirname "$0")/secrets
while [ $# -gt 0 ]; do
  case "$1" in
    --force) force=1 ;;
    --dir)
      [ $# -ge 2 ] || usage
      dir=$2
      shift
      ;;
    -h | --help)
      sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *) usage ;;
  esac
  shift
done

command -v openssl >/dev/null 2>&1 || {
  echo "make-secrets: openssl is needed" >&2
  exit 1
}

FILES="temporal-db.env codec.env hr.env intake.env temporal-ui.env kubesphere-password seal-private.pem seal-public.pem"

mkdir -p "$dir"
existing=""
for file in $FILES; do
  [ -e "$dir/$file" ] && existing="$existing $file"
done
if [ -n "$existing" ] && [ "$force" -ne 1 ]; then
  echo "make-secrets: $dir already holds:$existing" >&2
  echo "make-secrets: nothing written; --force replaces them (payloads and sealed passwords written with the old keys become unreadable)" >&2
  exit 1
fi

umask 077
work=$(mktemp -d "$dir/.make-secrets.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM

random_hex() { openssl rand -hex "$1"; }
random_base64() { openssl rand -base64 "$1" | tr -d '\n'; }

cat >"$work/temporal-db.env" <<EOF
# The Temporal server's PostgreSQL password (docker-compose.yml: postgresql, temporal-schema, temporal).
POSTGRES_PWD=$(random_hex 24)
EOF

cat >"$work/codec.env" <<EOF
# The payload key ring (worker, intake, codec server; and the CLI of whoever operates it). The first key encrypts.
# Rotate: put a new key first (ks-onboard codec-key), keep the old one after it while workflows written with it run.
KS_ONBOARD_CODEC_KEYS=compose-$(date +%Y%m%d):$(random_base64 32)
EOF

cat >"$work/hr.env" <<EOF
# HR webhook secrets (worker and intake; comma lists, all accepted, for rotation). Give the generic one to the
# sender (ks-onboard hire reads it from KS_ONBOARD_WEBHOOK_SECRETS); set a vendor's to take its deliveries.
KS_ONBOARD_WEBHOOK_SECRETS=whsec_$(random_base64 32)
# KS_ONBOARD_BAMBOOHR_SECRETS=
# KS_ONBOARD_BAMBOOHR_API_URL=https://api.bamboohr.com/api/gateway.php/<company>
# KS_ONBOARD_BAMBOOHR_API_KEY=
# KS_ONBOARD_HIBOB_SECRETS=
# KS_ONBOARD_HIBOB_SERVICE_USER=<id>:<token>
EOF

cat >"$work/intake.env" <<EOF
# The bearer token of the intake's GET /v1/onboardings/<id> (operators and scripts).
KS_ONBOARD_INTAKE_TOKEN=$(random_hex 24)
EOF

cat >"$work/temporal-ui.env" <<EOF
# The Web UI's OIDC client secret, when deploy/temporal-ui.env turns its login on.
# TEMPORAL_AUTH_CLIENT_SECRET=
EOF

# The emulator's admin password (KubeSphere's rules: upper and lower case letters and a digit).
printf 'Ks1-%s\n' "$(random_hex 12)" >"$work/kubesphere-password"

# The workers' seal key pair (RSA 3072, PKCS#8 / SPKI PEM): passwords and proofs are sealed with the public key.
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:3072 -out "$work/seal-private.pem" 2>/dev/null
openssl pkey -in "$work/seal-private.pem" -pubout -out "$work/seal-public.pem"
chmod 644 "$work/seal-public.pem"

# The containers run as the image's user `node` (uid 1000) and read the two file secrets as bind mounts.
if [ "$(id -u)" -eq 0 ]; then
  chown 1000:1000 "$work/kubesphere-password" "$work/seal-private.pem"
elif [ "$(id -u)" -ne 1000 ]; then
  echo "make-secrets: note: the containers run as uid 1000 and cannot read files owned by uid $(id -u) with mode 600;" >&2
  echo "make-secrets: run: sudo chown 1000 $dir/kubesphere-password $dir/seal-private.pem" >&2
fi

for file in $FILES; do
  mv -f "$work/$file" "$dir/$file"
done
echo "make-secrets: wrote$(printf ' %s' $FILES) in $dir"
