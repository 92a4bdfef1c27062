#!/bin/sh
# Runs commy under /work/shared/anchor-bench (or any harness that sets PORT and UPSTREAMS):
#   node bench.js --proxy "commy=$PWD/bench/forwarders/anchor-commy.sh"   (from the anchor-bench dir)
# Writes a sidecar.yaml listening on 127.0.0.1:$PORT, round robin over $UPSTREAMS (host:port,...),
# access log to $COMMY_ACCESS_LOG (default /dev/null), then execs commy.
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CONF=$(mktemp /tmp/commy-anchor-XXXXXX.yaml)
{
  echo "log: { level: warn, destination: ${COMMY_ACCESS_LOG:-/dev/null}, accessLog: true }"
  echo "admin: { listen: 127.0.0.1:0 }"
  echo "listeners:"
  echo "  - name: outbound"
  echo "    listen: 127.0.0.1:${PORT}"
  echo "    routes: [{ match: {}, service: upstream }]"
  echo "services:"
  echo "  upstream:"
  echo "    strategy: round-robin"
  echo "    endpoints:"
  for u in $(echo "$UPSTREAMS" | tr ',' ' '); do echo "      - { address: $u }"; done
} > "$CONF"
exec node "$ROOT/dist/src/main.js" --config "$CONF"
