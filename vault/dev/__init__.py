"""Development helpers: never imported by the app's production code paths."""
