# Thin wrapper: every target goes through dev.py, which bootstraps .venv on first use.
.PHONY: demo test test-pg lint bench lock
demo:    ; python3 dev.py demo
test:    ; python3 dev.py test
test-pg: ; python3 dev.py test --pg
lint:    ; python3 dev.py lint
lock:    ; python3 dev.py lock
bench:   ; python3 dev.py bench
