"""Units (执收单位): their API credentials and webhook endpoint settings."""
