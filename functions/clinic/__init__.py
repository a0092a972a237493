"""The clinic backend's Lambda code: articles, consultation requests, staff notifications."""
