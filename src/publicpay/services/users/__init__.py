"""Console users (U1): accounts, log-in with a second factor, sessions."""
