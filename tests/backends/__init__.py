"""Backend tests: one contract suite over both backends, and the Azure backend on its own."""
