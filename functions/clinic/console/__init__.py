"""The staff console: a static page served by the stack, at the staff API's own origin."""
