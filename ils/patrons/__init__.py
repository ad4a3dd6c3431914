"""Patrons' web accounts: passwords, enrolment, email addresses, newsletter topics, and what staff see of a patron."""
