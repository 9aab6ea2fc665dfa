"""Programs built on the ledger's service graph: the demo's seeding, the settlement runner and an
in-process ledger for the simulator's replay. They sit above the API and the composition root and
below the CLI (docs/architecture.md)."""
