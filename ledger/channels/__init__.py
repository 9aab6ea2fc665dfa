"""Payment channels: mobile wallets and remittance operators that collect a worker's voluntary
payment in the host currency for a home-fund scheme (docs/channels.md, ADR 0037).

Pure like `ledger/settlement`: the registry of channels (`registry.py`), the price of a payment
in the wallet currency (`pricing.py`), its ledger legs (`legs.py`), the day file format
(`dayfile.py`) and its line-by-line reconciliation (`reconcile.py`). `ledger/services/channels.py`
orchestrates them with the database, the group committer and the hub's key.
"""
