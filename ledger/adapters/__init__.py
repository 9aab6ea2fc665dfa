"""Fund adapters: one folder per fund (rules, parameters, native formats, samples)."""
