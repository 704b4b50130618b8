#!/usr/bin/env bash
# --images with two images sharing a base layer; a node with the ID but not
# the tag is only tagged.
. "$(dirname "$0")/lib.sh"
ensure_image app:1 20
ensure_image web:1 10
reset_nodes

run_ts --images app:1 web:1 --mode flat
check "exits 0" rc_is 0
check "every node has app:1" all_nodes_have app:1
check "every node has web:1" all_nodes_have web:1
check "the two images share their base layer" \
  [ "$("$LAB" exec source docker image inspect -f '{{index .RootFS.Layers 0}}' app:1)" = \
    "$("$LAB" exec source docker image inspect -f '{{index .RootFS.Layers 0}}' web:1)" ]
assert_clean

# node1 keeps web:1's image under another name only: it needs a tag, no bytes.
id=$(source_id web:1)
"$LAB" exec node1 docker tag "$id" keep:1
"$LAB" exec node1 docker rmi web:1 >/dev/null
check "node1 lost the web:1 tag" [ "$(node_id node1 web:1)" = none ]
run_ts --images app:1 web:1 --mode flat
check "exits 0" rc_is 0
check "node1 is only tagged, with no bytes sent" grep -qE '^node1 .* tagged +0 B ' <<<"$OUT"
check "the other nodes are skipped" out_has "0 loaded, 1 tagged, $((${#NODES[@]} - 1)) skipped"
check "node1 shows web:1 again with the source's ID" [ "$(node_id node1 web:1)" = "$id" ]
check "node1 keeps its other tag" node_has_tag node1 "$id" keep:1
assert_clean
done_testing
