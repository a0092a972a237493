"""The stored lead, owned once: consultations writes it, notifications (and the staff inbox) read it."""
