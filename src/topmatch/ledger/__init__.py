"""The co-signed fee ledger: entries, the Merkle log, checkpoints, witnessing and offline audit."""
