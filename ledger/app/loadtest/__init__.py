"""Load testing the ledger, from the ledger's side: the traffic a simulated population makes
(`traffic`), its bulk registration and the files Locust reads (`prepare`), and the capacity
runner `clmtv loadtest` (`runner`, `audit`, `report`). The Locust code itself lives in
`loadtests/` and talks to the ledger over HTTP only.
"""
