"""The message each refusal case gives (`test_refusals.py` compares them exactly).

A message is what a caller reads (problem+json `detail`), so it is pinned like the code
and the field. One ending in "…" is a prefix: the rest lists the registry's funds or
schemes, or quotes a library (YAML, JSON), and may grow without the refusal changing.
"""

from __future__ import annotations

MESSAGES: dict[str, str] = {
    'pending and posting at once':
        'a transfer cannot both be pending and resolve one',
    'posting and voiding at once':
        'post and void are exclusive',
    'a post naming no pending transfer':
        'pending_id is required',
    'a transfer naming a pending transfer':
        'pending_id only goes with post or void',
    'a negative post':
        'amount must not be negative',
    'a zero transfer, second in its unit':
        'amount must be positive',
    'one account on both sides':
        'debit and credit accounts must differ',
    'an unknown account':
        'account 99 does not exist',
    'a transfer in another currency':
        'credit account 3 is in JPY, transfer in THB',
    'posting an unknown pending transfer':
        'no transfer nothing',
    'posting a transfer that is not pending':
        'transfer moved is not pending',
    'posting a resolved pending transfer':
        'pending transfer reserved was already posted or voided',
    'posting more than is pending':
        'cannot post 101: pending amount is 100',
    'a balance beyond 64 bits':
        'account 6 would overflow',
    'debits above credits':
        'account 4 does not allow debits above credits',
    'credits above debits':
        'account 5 does not allow credits above debits',
    'an unknown currency':
        "unknown currency 'XYZ'; expected one of KHR, LAK, MMK, THB, VND, JPY, MYR, USD",
    'a float amount':
        'amount_minor must be an integer, got float',
    'an amount beyond 64 bits':
        'amount_minor exceeds 64 bits',
    'major units as a float':
        'floats are not money',
    'money that is not an object':
        'money must be an object',
    'adding two currencies':
        'cannot combine THB and JPY',
    'a float rate':
        'rates are Decimal, got float',
    'an infinite rate':
        'rate must be finite',
    'a decimal amount string':
        "amount_minor must be a string of digits in minor units, got '1.5'",
    'an amount that is neither text nor integer':
        'amount_minor must be a string of digits, got float',
    'an amount string beyond 64 bits':
        'amount_minor exceeds 64 bits',
    'month 13':
        'month out of range: 2026-13',
    'a month written badly':
        "month must be YYYY-MM, got '2026-1'",
    'a month out of range, parsed':
        'month out of range: 2026-13',
    'an empty id':
        'transfers[0].id must be a string of 1-128 chars',
    'an id with a space':
        "key may contain only letters, digits and . _ : / @ - (got 'a b')",
    'a worker id of another form':
        "worker must look like wkr_<4-40 lowercase letters or digits>, got 'worker-1'",
    "a worker id carrying the worker's number":
        "id contains the worker's identity or member number; worker ids appear in URLs and "
        'logs: choose another id, or let the hub assign one',
    'a scheme not operating':
        'scheme old-age is not operating',
    'a month before the scheme':
        'scheme pension accepts contributions from 2022-10, not 2022-09',
    'an unknown scheme':
        "fund TH-SSO has no scheme 'pension'; known: …",
    'a built-in fund redefined':
        'fund TH-SSO is already defined differently',
    'an unknown fund':
        "unknown fund 'XX-NONE'; known: …",
    'a principal doing what it may not':
        'auditor auditor may not post',
    'an identity number sealed for another row':
        'identity number cannot be decrypted',
    'an unknown kind':
        'kind must be one of compulsory, voluntary, credited',
    'a wage base in another currency':
        'TH-SSO books THB, wage_base is in JPY',
    'a negative wage base':
        'wage_base is negative',
    'no shares':
        'at least one share is required',
    'an unknown payer':
        'payer must be one of employee, employer, government, voluntary',
    'a payer twice':
        'payer employer appears twice',
    'a share in another currency':
        'TH-SSO books THB, share is in JPY',
    'a share of nothing':
        'a share must be positive (omit a payer who pays nothing)',
    'a bad caller-named id':
        "id may contain only letters, digits and . _ : / @ - (got 'two words')",
    'a unit the agreement cannot convert':
        'the agreement has no conversion for week',
    'an agreement file that is not there':
        '/nonexistent/agreement.yaml: cannot read: No such file or directory',
    'an agreement file over 1 MiB':
        '<file>: larger than 1048576 bytes',
    'a bundled agreement named with a path':
        "not an agreement name: '../secrets'",
    'an agreement that is a list':
        'agreement: the top level must be a mapping',
    'an agreement missing its keys':
        'agreement: title: required key is missing…',
    'a key written twice':
        "<file>: not valid YAML at line 2, column 1: duplicate key 'name'",
    'bytes YAML cannot read':
        '<file>: not valid YAML: unacceptable character #x0000…',
    'a certificate from a fund to itself':
        'home and host fund must differ',
    'a certificate issued by the host':
        'a certificate is issued by the home fund KH-NSSF, not TH-SSO',
    'a certificate ending before it starts':
        'valid_to is before valid_from',
    'a certificate without an agreement':
        'KH-NSSF is not a member of agreement no-agreement',
    'a flow whose uses exceed its sources':
        'sources and uses of a flow differ',
    'a flow whose value does not travel via clearing':
        'the travelling value goes to clearing',
    'a lump sum outcome for a Thai refund':
        "only Japan's lump sum is modelled here",
    'a position of a fund outside the window':
        'VN-VSS is not in this window',
    'a window of one fund twice':
        'funds must be distinct and not empty',
    'columns of different lengths':
        'payers, payees and amounts differ in length',
    'more obligations than can be summed':
        'more than 1 obligations',
    'a gross volume beyond 64 bits':
        "the window's gross volume exceeds 64 bits",
    'a column of floats':
        'amounts_minor must be a 1-D array of integers, got 1-D float64',
    'a column above int64':
        'amounts_minor has values above int64',
    'a fund owing itself':
        'a fund cannot owe itself',
    'a rate of zero':
        "an FX rate is a positive Decimal, not Decimal('0')",
    'a conversion beyond 64 bits':
        'a converted amount exceeds 64 bits',
    'a ratio over zero':
        'cannot round a ratio with denominator 0',
    'an array over zero':
        'denominator must be in 1..2**62, not 0',
    'a transferred period going nowhere':
        'transferred_to is required for a transferred period and only for one',
    'a period transferred to its own fund':
        'a period cannot be transferred from TH-SSO to itself',
    'no threshold in force yet':
        'no eligibility threshold of TH-SSO is in force at 2026-12',
    'a fund without a rule':
        'no eligibility rule for fund JP-JPS',
    'a fund the worker never paid into':
        'the worker has no periods at JP-JPS',
    "a short-term branch's period":
        'TH-SSO s33-sickness is a short-term branch: its periods do not totalise',
    'one month recorded twice':
        'two periods for JP-JPS epi 2026-01',
    'a pro-rata fraction above one':
        'a pro-rata fraction is in [0, 1], not 3/2',
    'a transfer offered twice':
        'transfer t2 is already in window w-1',
    'a transfer offered to a closed window':
        'window w-1 is closed; transfers go to the next open window',
    'a netting in another currency':
        'window w-2 settles in THB, its netting is in USD',
    'a netting of other transfers':
        'netting covers 1 transfers, the window holds 2',
    'an abort without a reason':
        'an abort needs a reason',
    'settling an open window':
        'window w-1 cannot go from open to settled (allowed: aborted, closed)',
    'a key window in float seconds':
        'not_before must be integer seconds',
    'a key window ending as it starts':
        'not_after must be later than not_before',
    'a JWK that is a list':
        'a JWK must be a JSON object',
    'a public JWK with its private half':
        "public key set contains private key material 'd'",
    'a JWK of another curve':
        'only kty OKP with crv Ed25519 is accepted',
    'a JWK without a kid':
        'kid must be a non-empty string',
    'a JWK for RS256':
        "alg 'RS256' is not an Ed25519 algorithm",
    'a JWK for encryption':
        "use must be 'sig'",
    'a JWK whose x is a number':
        'x must be a base64url string',
    'a JWK whose x is not base64url':
        'not unpadded base64url',
    'a JWK whose x is short':
        'must decode to 32 bytes, got 1',
    'a JWK window backwards':
        'not_after must be later than not_before',
    'a private JWK whose d is missing':
        'must be a base64url string',
    "a private JWK whose x is another key's":
        'x does not match d',
    'a PEM holding an EC key':
        'PEM does not hold an Ed25519 private key',
    "another party's key in a keyring":
        'key belongs to KH-NSSF, not TH-SSO',
    'one kid twice in a keyring':
        'kid th-1 is already in the keyring',
    'a keyring with no key valid now':
        'TH-SSO has no key valid at 1767224600',
    'a rotation with a negative overlap':
        'overlap_s must not be negative',
    'revoking a key the keyring lacks':
        'no key nope in the keyring',
    'a kid registered for another key':
        'kid th-1 is already registered for TH-SSO with another key',
    'a JWKS without keys':
        "a JWKS must be an object with a 'keys' array",
    'a JWKS naming one kid twice':
        'duplicate kid in JWKS',
    'revoking an unknown kid':
        'unknown kid nope',
    'signing a body with a float':
        'nan has no JSON representation',
    'signing a body with a fraction':
        'number 0.5 is not an integer',
    'signing with a revoked key':
        'key th-r is revoked at iat',
    'a token too long':
        'token longer than 4194304',
    'a token of two parts':
        'expected 3 dot-separated parts, got 2',
    'a signature by another key under the kid':
        'signature does not verify',
    'alg none':
        "alg 'none' is not allowed",
    'a header carrying a jwk':
        "header members not accepted: ['jwk']",
    'a header of another typ':
        "typ 'JWT' is not clmtv-msg+jwt",
    'a header without kid':
        'header has no kid',
    'a kid nobody published':
        "no published key 'x'",
    'a key not valid yet':
        'key th-l is not_yet_valid at 1767225600',
    'a key expired':
        'key th-o is expired at 1767225600',
    'a key revoked':
        'key th-r is revoked at 1767225600',
    'a payload with a fraction':
        'number 1.5 is not an integer; send it as a string',
    'a payload that is not JSON':
        'payload is not JSON: …',
    'a payload that is a list':
        'payload is not a JSON object',
    'a payload with a lone surrogate':
        'string contains a lone surrogate code unit',
    'a payload not in canonical form':
        'payload is not in RFC 8785 canonical form',
    'a claim missing':
        'claim jti is missing',
    'a claim too many':
        "unexpected claims ['zz']",
    'a sequence of zero':
        'seq must be an integer >= 1',
    "a message from another issuer's key":
        'key th-1 belongs to TH-SSO, not to KH-NSSF',
    'a message for someone else':
        'message is for HUB, not KH-NSSF',
    'a message dated before its key':
        'key th-1 is not_yet_valid at iat',
    'a message dated after its key retired':
        'key th-1 is expired at iat',
    'a message expired':
        'message has expired',
    'a message living longer than the receiver allows':
        'exp - iat is 900 s; at most 899 s',
    'a message from the future':
        'message is dated in the future',
}
