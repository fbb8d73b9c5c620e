"""Federation: peers, signed transport, feed and replication."""
