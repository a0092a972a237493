"""What provisions and operates the stack but never runs in Lambda: publishing, the local stack."""
