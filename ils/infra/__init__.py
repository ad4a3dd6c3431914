"""Infrastructure: the database, its schema and migrations, settings, the run context, the lock, files, faults, output."""
