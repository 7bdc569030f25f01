"""Help pages: one per method, from resources/help/<method>.toml (`pages`), formulas drawn by `formulas`."""
