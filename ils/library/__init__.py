"""The library itself: its policy profile, branch calendars and branches, library time, its events."""
