"""Fund adapters: one folder per fund (rules, dated parameters, native formats, samples).

Shared here: `base.py` (the adapter contract), `registry.py` (finds adapters by folder),
`parameters.py` (the parameters.yaml schema and dated lookups), `arith.py` (exact rate
arithmetic, scalar and numpy), `wagebase.py` (contribution bases), `context.py` (worker facts),
`refunds.py` (refund shapes), `idformat.py` (ID helpers), and the file codecs (`formats.py`,
`csv_declaration.py`).
"""
