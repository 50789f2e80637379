"""Model adapters: one interface (`base.Model`), one module per backend."""
