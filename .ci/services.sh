#!/usr/bin/env bash
# Installs and starts what the integration tests need, from Debian's packages: RabbitMQ and PostgreSQL, both on
# loopback only, promtool (Prometheus) for the alert rules and Chromium for the review page's browser tests. Safe to run again. Prints the environment the tests read.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
need=""
command -v rabbitmq-server >/dev/null 2>&1 || need="$need rabbitmq-server"
command -v pg_ctlcluster >/dev/null 2>&1 || need="$need postgresql"
command -v promtool >/dev/null 2>&1 || need="$need prometheus"   # promtool checks the alert rules
command -v chromium >/dev/null 2>&1 || need="$need chromium"      # the review page's browser tests (Playwright drives it)
if [ -n "$need" ]; then
  $SUDO apt-get update -qq || true
  $SUDO apt-get install -y -qq --no-install-recommends $need >/dev/null
fi

# RabbitMQ: loopback listeners; poll ping before await_startup (a fresh node is not registered with epmd at once).
if ! $SUDO rabbitmq-diagnostics -q ping >/dev/null 2>&1; then
  $SUDO tee /etc/rabbitmq/rabbitmq-env.conf >/dev/null <<'CONF'
NODE_IP_ADDRESS=127.0.0.1
export ERL_EPMD_ADDRESS=127.0.0.1
SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
CONF
  printf 'listeners.tcp.default = 127.0.0.1:5672\nmanagement.tcp.ip = 127.0.0.1\n' | $SUDO tee /etc/rabbitmq/rabbitmq.conf >/dev/null
  $SUDO rabbitmq-plugins enable --offline rabbitmq_management >/dev/null
  $SUDO rabbitmq-server -detached
  for _ in $(seq 90); do $SUDO rabbitmq-diagnostics -q ping >/dev/null 2>&1 && break; sleep 1; done
  $SUDO rabbitmqctl await_startup --timeout 120 >/dev/null
fi

# PostgreSQL: the Debian cluster, plus an owlbox role and database.
ver=$(ls /etc/postgresql | sort -n | tail -1)
if ! $SUDO pg_ctlcluster "$ver" main status >/dev/null 2>&1; then
  $SUDO pg_ctlcluster "$ver" main start
fi
for _ in $(seq 30); do $SUDO su postgres -c "pg_isready -q -h 127.0.0.1" && break; sleep 1; done
$SUDO su postgres -c "psql -qtAc \"SELECT 1 FROM pg_roles WHERE rolname='owlbox'\"" | grep -q 1 \
  || $SUDO su postgres -c "psql -qc \"CREATE ROLE owlbox LOGIN SUPERUSER PASSWORD 'owlbox'\""
$SUDO su postgres -c "psql -qtAc \"SELECT 1 FROM pg_database WHERE datname='owlbox'\"" | grep -q 1 \
  || $SUDO su postgres -c "createdb -O owlbox owlbox"

echo "OWLBOX_TEST_RABBITMQ=127.0.0.1"
echo "OWLBOX_TEST_POSTGRES=Host=127.0.0.1;Username=owlbox;Password=owlbox;Database=owlbox"
