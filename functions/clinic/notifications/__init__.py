"""Staff notifications: every lead reaches staff once, from the leads stream or the sweeper."""
