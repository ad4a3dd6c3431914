"""Patrons' web accounts: passwords, enrolment, email addresses, and what staff see of a patron."""
