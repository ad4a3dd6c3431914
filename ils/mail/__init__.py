"""Patron mail: notices rendered from templates into an outbox, delivered over SMTP (or to files) once."""
