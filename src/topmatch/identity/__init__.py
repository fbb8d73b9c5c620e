"""This node's identity: its Ed25519 key pair and its public peer descriptor."""
