#!/usr/bin/env bash
# Installs the message brokers the `pnpm test:brokers` suites start themselves: RabbitMQ and
# NATS (with JetStream) from Debian's packages. Idempotent: installs only what is missing, and
# repairs the state an interrupted apt-get leaves (the rabbitmq user missing).
set -euo pipefail

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"

need=()
[ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] || need+=(rabbitmq-server)
command -v nats-server >/dev/null 2>&1 || need+=(nats-server)

if [ ${#need[@]} -gt 0 ]; then
  echo "install-rabbitmq-nats: apt-get install ${need[*]}"
  $SUDO apt-get update -qq
  # The package's postinst tries to start the service; policy-rc.d in containers refuses, which is fine.
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

# An interrupted install leaves the package unconfigured and the rabbitmq user missing.
if ! id rabbitmq >/dev/null 2>&1; then
  echo "install-rabbitmq-nats: dpkg --configure -a (rabbitmq user missing)"
  DEBIAN_FRONTEND=noninteractive $SUDO dpkg --configure -a
fi

nats-server --version
dpkg-query -W -f='rabbitmq-server ${Version}\n' rabbitmq-server
