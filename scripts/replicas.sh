#!/usr/bin/env bash
# The multi-replica example: one portal replica and two gateway replicas on the local
# PostgreSQL (a new database) and Redis, behind nginx (deploy/nginx.conf). Ctrl-C stops all
# and drops the database.
# Usage: bash scripts/replicas.sh        (PORTICO_BIN=… to use another build)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/replicas.sh
replicas_prepare debug
replicas_start
cat "$work/portal.out"
echo
echo "Load balancer (nginx): portal $PORTICO_PUBLIC_PORTAL_URL, sandbox $PORTICO_PUBLIC_SANDBOX_URL"
echo "Replicas: portal :$port_portal (pid ${replica_pid[portal]}), gateway-a :$port_a (pid ${replica_pid[gateway-a]}), gateway-b :$port_b (pid ${replica_pid[gateway-b]})"
echo "Database $DATABASE_URL, Redis $REDIS_URL. Ctrl-C stops everything."
wait
