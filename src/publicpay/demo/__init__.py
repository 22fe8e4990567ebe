"""The demo: seeded data, in-process channel emulators, one process for web + worker."""
