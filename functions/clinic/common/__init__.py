"""What the functions share: settings, the error envelope, HTTP helpers."""
