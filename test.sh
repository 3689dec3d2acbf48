#!/usr/bin/env bash
# Runs every test. Integration tests need RabbitMQ and PostgreSQL: .ci/services.sh installs Debian's and starts them on
# loopback (root or sudo needed); without them those tests are skipped, each saying why.
set -euo pipefail
cd "$(dirname "$0")"
if [ "${OWLBOX_SKIP_SERVICES:-}" != "1" ]; then
  while IFS='=' read -r key value; do export "$key=$value"; done < <(bash .ci/services.sh | grep '^OWLBOX_TEST_')
fi
dotnet test Owlbox.slnx -c Release "$@"
