"""Performance reports for managers and clerks."""
