"""The counter's circulation: copies out and in, pulls and transits, renewals, what is overdue."""
