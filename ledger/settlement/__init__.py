"""Settlement between funds and hub: signed messages, keys, and (later) agreements and netting.

Pure like `ledger.domain`: no database, no HTTP. `services` orchestrates it.

- `canonical`: RFC 8785 JSON canonicalisation and the strict JSON reader
- `jws`: JWS compact serialisation, Ed25519 only
- `keys`: signing keys, JWKS, validity windows, rotation, revocation, the trust registry
- `messages`: the message envelope, `sign_message`, `verify_message`, rejection reasons
- `inbox`: replay and sequence classification for the inbox
"""
