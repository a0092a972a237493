"""Consultation requests: POST /consultations, validated, defended and stored once."""
