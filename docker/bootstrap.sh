#!/bin/sh
# One-off set-up of the nodes in compose.yaml: `topmatch init` for each node that has no
# key yet, then every node gets every other node's descriptor (`topmatch peers add`).
#
#   bootstrap.sh NODE_ID,PUBLIC_URL,DISPLAY NAME ...
#
# Each node's data volume is mounted at $NODES_ROOT/NODE_ID (default /nodes/NODE_ID); it
# is the node's /data, with its peers folder at /data/peers (TOPMATCH_PEERS_DIR in the
# image). Safe to run again: an initialised node keeps its key, and adding a descriptor
# a node already holds changes nothing (a rotated one is picked up).
#
# compose.yaml runs this as root, because fresh volumes mounted outside /data belong to
# root; the files are then handed to the image's topmatch user ($NODE_UID, 10001).
set -eu

NODES_ROOT=${NODES_ROOT:-/nodes}
NODE_UID=${NODE_UID:-10001}

if [ "$#" -lt 2 ]; then
  echo "usage: $0 NODE_ID,PUBLIC_URL,DISPLAY NAME ... (at least two nodes)" >&2
  exit 2
fi

# Run topmatch with the settings of one node. A node's peers folder lives in its volume.
node() {
  id=$1
  shift
  TOPMATCH_DATA_DIR="$NODES_ROOT/$id" TOPMATCH_PEERS_DIR="$NODES_ROOT/$id/peers" topmatch "$@"
}

for spec in "$@"; do
  id=${spec%%,*}
  rest=${spec#*,}
  url=${rest%%,*}
  name=${rest#*,}
  if [ -z "$id" ] || [ -z "$url" ] || [ -z "$name" ] || [ "$url" = "$rest" ]; then
    echo "bad node spec '$spec': expected NODE_ID,PUBLIC_URL,DISPLAY NAME" >&2
    exit 2
  fi
  if [ -e "$NODES_ROOT/$id/node-key.pem" ]; then
    echo "$id: already initialised"
  else
    node "$id" init --node-id "$id" --name "$name" --url "$url"
  fi
done

for spec in "$@"; do
  id=${spec%%,*}
  for other in "$@"; do
    peer=${other%%,*}
    [ "$peer" = "$id" ] && continue
    node "$id" peers add "$NODES_ROOT/$peer/node.json"
  done
done

if [ "$(id -u)" = 0 ]; then
  for spec in "$@"; do
    id=${spec%%,*}
    chown -R "$NODE_UID:$NODE_UID" "$NODES_ROOT/$id"
    chmod 700 "$NODES_ROOT/$id"
  done
fi
echo "bootstrap done: $# nodes, each holding the other $(($# - 1)) descriptors"
