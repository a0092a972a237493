"""The staff inbox API: signed-in staff read and work leads; administrators export and erase."""
