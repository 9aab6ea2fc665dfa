"""Surviving mutants judged equivalent: the program behaves the same with them, so no test can fail.

Each entry names the mutant (mutmut's name), a fragment of its mutated line (so that an entry
stops applying when the function changes and mutmut renumbers its mutants) and the reason. A
survivor listed here is still counted as surviving in the score; docs/testing.md lists it with its
reason so that a reader can check the judgement.
"""

from __future__ import annotations

from typing import NamedTuple


class Equivalent(NamedTuple):
    fragment: str  # text on the mutant's `+` line
    reason: str


_T = "ledger.settlement.totalisation."
_R = "ledger.settlement.rounding."
_N = "ledger.settlement.netting."
_C = "ledger.settlement.canonical."
_A = "ledger.adapters.arith."
_M = "ledger.domain.money."

# Reasons shared by several mutants of one line.
_SAME_LENGTH = Equivalent(
    "",
    "`net` is built from `funds` (one position per fund), so the two always have one length and "
    "`zip`'s strictness is never tested.",
)
_PATH_ONLY = Equivalent(
    "",
    "Only chooses between the int64 path and the exact Python path for values both compute "
    "exactly (a product at the bound still fits int64; a denominator at or under 2**62 is "
    "taken by either path), so the result is the same.",
)
_INT64_LIST = Equivalent(
    "",
    "The exact path only ever holds non-empty lists of ints within +-(2**63 - 1) (checked just "
    "before), which numpy stores as int64 without being told.",
)
_BOTH_SIDES_END = Equivalent(
    "",
    "Positions sum to zero, so debtors and creditors run out on the same payment: the loop "
    "ends with both indexes at their ends, and neither condition is ever true on its own.",
)

EQUIVALENT: dict[str, Equivalent] = {
    # -- totalisation
    f"{_T}x_own_months__mutmut_14": Equivalent(
        "PeriodState.TRANSFERRED or record.transferred_to",
        "PeriodRecord refuses transferred_to on any state but TRANSFERRED and requires it there, "
        "so `and` and `or` agree on every record that can exist (the test is for mypy's sake).",
    ),
    f"{_T}xǁEligibilityRuleǁthreshold_at__mutmut_21": Equivalent(
        "Month(1900, 2)",
        "Differs only for a threshold dated 1900-01, the earliest month a Month can hold, next "
        "to an undated one: both are then in force since always and the original breaks that "
        "tie by list order, so neither answer is the specified one.",
    ),
    # -- netting
    **{
        f"{_N}x_payments_via_hub__mutmut_{n}": _SAME_LENGTH._replace(fragment=fragment)
        for n, fragment in ((16, "strict=None"), (19, "result.net, )"), (20, "strict=False"),
                            (37, "strict=None"), (40, "result.net, )"), (41, "strict=False"))
    },
    **{
        f"{_N}xǁNettingResultǁsummary__mutmut_{n}": _SAME_LENGTH._replace(fragment=fragment)
        for n, fragment in ((32, "strict=None"), (35, "self.net, )"), (36, "strict=False"))
    },
    f"{_N}x__convert_array__mutmut_6": Equivalent(
        "if amounts.size else 1",
        "An empty array gives an empty result on either path (`largest` only picks the path).",
    ),
    f"{_N}x__convert_array__mutmut_9": _PATH_ONLY._replace(
        fragment="largest * numerator < _INT64_MAX"),
    f"{_N}x__convert_array__mutmut_10": _PATH_ONLY._replace(fragment="denominator < 2**62"),
    f"{_N}x__convert_array__mutmut_11": _PATH_ONLY._replace(fragment="denominator <= 2 * 62"),
    f"{_N}x__convert_array__mutmut_41": _INT64_LIST._replace(fragment="dtype=None"),
    f"{_N}x__convert_array__mutmut_43": _INT64_LIST._replace(fragment="np.array(exact, )"),
    f"{_N}x__int64_column__mutmut_8": Equivalent(
        'not in "XXiuXX"',
        "No numpy dtype kind is 'X': membership in \"XXiuXX\" and in \"iu\" agree for every array.",
    ),
    **{
        f"{_N}x__int64_column__mutmut_{n}": Equivalent(
            fragment,
            "`copy` only decides whether an int64 array is copied; the values are the same, and "
            "the caller never writes to its input.",
        )
        for n, fragment in ((30, "copy=None"), (32, "astype(np.int64, )"), (33, "copy=True"))
    },
    f"{_N}x__percent__mutmut_4": Equivalent(
        "ratio.denominator, None)",
        "round_ratio with no mode falls through every named branch to the half-even step, so "
        "the report's percentage is rounded exactly as with Rounding.HALF_EVEN.",
    ),
    f"{_N}x_net_obligations__mutmut_67": Equivalent(
        "net[net >= 0].sum()",
        "Adding the zero positions to the creditors' sum changes nothing.",
    ),
    **{
        f"{_N}x_payments_greedy__mutmut_{n}": _BOTH_SIDES_END._replace(fragment=fragment)
        for n, fragment in ((18, "d < len(debtors) or c < len(creditors)"),
                            (19, "d <= len(debtors) and c < len(creditors)"),
                            (20, "d < len(debtors) and c <= len(creditors)"))
    },
    # -- Thai rules
    "ledger.adapters.th_sso.rules.xǁThSsoAdapterǁ_s33_shares__mutmut_36": Equivalent(
        "sum(parts, )",
        "Summing Fractions from the int 0 or from Fraction(0) gives the same Fraction.",
    ),
    # -- the adapters' arithmetic
    **{
        f"{_A}x__round_quotient__mutmut_{n}": Equivalent(
            fragment,
            "Differs only for p = 0, whose remainder is 0: the function has returned q already "
            "(and for integers `< 1` is `<= 0`).",
        )
        for n, fragment in ((15, "q + (p <= 0)"), (16, "q + (p < 1)"), (19, "q + (p >= 0)"),
                            (30, "q + (p >= 0)"))
    },
    f"{_A}x__round_quotient__mutmut_27": Equivalent(
        "q + (2 * r >= d)",
        "Guarded by `2 * r != d` on the line before: `>=` and `>` agree there.",
    ),
    **{
        f"{_A}x_round_div_array__mutmut_{n}": Equivalent(
            fragment,
            "FLOOR never steps up: zeros of any dtype become 0 in `astype(np.int64)`.",
        )
        for n, fragment in ((9, "dtype=None"), (11, "np.zeros(q.shape, )"))
    },
    **{
        f"{_A}x_round_div_array__mutmut_{n}": Equivalent(
            fragment,
            "Differs only for a zero numerator, whose remainder is 0: `r > 0` (or the tie test) "
            "is already false there (and for integers `< 1` is `<= 0`).",
        )
        for n, fragment in ((21, "(num <= 0)"), (22, "(num < 1)"), (28, "(num >= 0)"),
                            (38, "(num >= 0) if"))
    },
    f"{_A}x_quantum_minor__mutmut_16": Equivalent(
        'rstrip("XX0XX")',
        "A number's digits hold no 'X': stripping the characters of \"XX0XX\" strips zeros.",
    ),
    # -- canonical (JCS)
    **{
        f"{_C}x__format_int__mutmut_{n}": Equivalent(
            fragment,
            "Integers within +-2**53 are exact doubles, and format_number prints such a double "
            "with the same digits as str(): moving the bound only changes which path prints it.",
        )
        for n, fragment in ((1, "+SAFE_INTEGER_MAX <= value"), (2, "-SAFE_INTEGER_MAX < value"),
                            (3, "value < SAFE_INTEGER_MAX"))
    },
    f"{_C}x__layout__mutmut_11": Equivalent(
        "0 < n < 21",
        "n = 21 reaches this line only with more than 21 digits, and a double has at most 17.",
    ),
    f"{_C}x__layout__mutmut_20": Equivalent(
        "-6 < n <= 1",
        "n = 1 was taken by the `0 < n <= 21` branch above.",
    ),
    **{
        f"{_C}x__layout__mutmut_{n}": Equivalent(
            fragment,
            "An exponent of 0 means n = 1, which the branches above always take: the exponent "
            "here is never 0.",
        )
        for n, fragment in ((33, "if exponent > 0"), (34, "if exponent >= 1"))
    },
    **{
        f"{_C}x__shortest_digits__mutmut_{n}": Equivalent(
            fragment,
            "repr() of a float has no 'X': stripping the characters of \"XX0XX\" strips zeros.",
        )
        for n, fragment in ((16, 'lstrip("XX0XX")'), (27, 'rstrip("XX0XX")'))
    },
    **{
        f"{_C}{name}": Equivalent(
            fragment, "Codec names are case-insensitive: the same codec, the same bytes.")
        for name, fragment in (("x__utf16_sort_key__mutmut_6", '"UTF-16-BE"'),
                               ("x_canonical_text__mutmut_4", '"UTF-8"'),
                               ("x_canonicalize__mutmut_14", '"UTF-8"'),
                               ("x_is_canonical_ijson__mutmut_8", '"UTF-8"'),
                               ("x_parse_json__mutmut_10", '"UTF-8"'))
    },
    f"{_C}x__write_object__mutmut_16": Equivalent(
        "first = None",
        "`first` is only tested with `not`, for which None and False are the same.",
    ),
    **{
        f"{_C}x_format_number__mutmut_{n}": Equivalent(
            fragment, "float() reads infinity case-insensitively: the same two values.")
        for n, fragment in ((6, 'float("INF")'), (9, 'float("-INF")'))
    },
    f"{_C}x_format_number__mutmut_18": Equivalent(
        '"-" if value <= 0',
        "Zero returned \"0\" on the lines before, so `value` here is never 0.",
    ),
    # -- inbox
    "ledger.settlement.inbox.x_missing_ranges__mutmut_5": Equivalent(
        "expected <= s <= seq",
        "A held seq equal to `seq` would only append the range (start, seq - 1) that the last "
        "step appends anyway; and classify answers SEQ_CONFLICT before asking for ranges then.",
    ),
    # -- windows
    "ledger.settlement.windows.xǁSettlementWindowǁadd_transfers__mutmut_22": Equivalent(
        'batch[transfer_id] = ""',
        "The dict is an insertion-ordered set: only its keys are ever read, never the values.",
    ),
    # -- rounding: the sign of a zero numerator never matters (an exact quotient returns first)
    f"{_R}x_round_ratio__mutmut_9": Equivalent(
        "if denominator <= 0:",
        "A zero denominator was refused on the line before, so `< 0` and `<= 0` agree.",
    ),
    f"{_R}x_round_ratio__mutmut_10": Equivalent(
        "if denominator < 1:",
        "A zero denominator was refused on the line before; for integers `< 1` is `<= 0`.",
    ),
    f"{_R}x_round_ratio__mutmut_32": Equivalent(
        "numerator > 0, rounding",
        "`positive` differs only for a zero numerator, whose quotient is exact: the function "
        "returns before `_step_up` reads it.",
    ),
    f"{_R}x_round_ratio__mutmut_33": Equivalent(
        "numerator >= 1, rounding",
        "For integers `>= 1` is `> 0`: differs only for a zero numerator, which returns before "
        "`_step_up` reads the sign.",
    ),
    f"{_R}x__step_up__mutmut_22": Equivalent(
        "1 if twice >= denominator else 0",
        "Guarded by `twice != denominator` on the line before: `>=` and `>` agree there.",
    ),
    f"{_R}x_round_ratio_array__mutmut_22": Equivalent(
        "positive = numerators > 0",
        "Differs only for zero numerators, whose remainder is 0: `inexact` masks their step.",
    ),
    f"{_R}x_round_ratio_array__mutmut_23": Equivalent(
        "positive = numerators >= 1",
        "For integers `>= 1` is `> 0`: differs only for zeros, whose step `inexact` masks.",
    ),
    # -- the funds' rules
    "ledger.adapters.th_sso.rules.xǁThSsoAdapterǁplan__mutmut_81": Equivalent(
        "rounding, )",
        "SATANG is the constant 1 (not a parameter), which is Plan's default quantum: dropping "
        "the argument builds the same Plan.",
    ),
    "ledger.adapters.kh_nssf.rules.xǁKhNssfAdapterǁranks__mutmut_22": Equivalent(
        "if r[2] is not None",
        "RankTable's validator requires a bound on every rank after the first, and r[2] (the "
        "contributory wage) is never None: both filters keep every row (the test is for mypy).",
    ),
    "ledger.adapters.mm_ssb.rules.xǁMmSsbAdapterǁcontext_from_fields__mutmut_10": Equivalent(
        '"registered_at_60_or_over", "NO"',
        "The default is lowercased on the same line: \"NO\" and \"no\" both read as \"no\".",
    ),
    # -- contributions
    "ledger.domain.contributions.x__validate_shares__mutmut_53": Equivalent(
        "out.sort(key=None)",
        "Payer's members are declared in the alphabetical order of their values and a "
        "contribution's payers are distinct (a duplicate is refused above): sorting the "
        "(payer, money) pairs as they are gives the same order, and money is never compared.",
    ),
    "ledger.domain.contributions.x_validate_contribution__mutmut_60": Equivalent(
        "check_id(raw.id, )",
        "check_id's default field is \"id\", the name passed: the same call.",
    ),
    # -- ledger
    **{
        f"ledger.domain.ledger.x_first_difference__mutmut_{n}": Equivalent(
            fragment,
            "TransferSpec.identity() returns one value per name in IDENTITY_FIELDS, next to each "
            "other in ledger.py, so the three always have one length and `zip`'s strictness is "
            "never tested.",
        )
        for n, fragment in ((4, "strict=None"), (8, "stored.identity(), )"), (9, "strict=False"))
    },
    # -- money
    f"{_M}x_round_to_int__mutmut_9": Equivalent(
        "quantize(Decimal(2)",
        "quantize reads only its argument's exponent, and Decimal(2)'s is 0 like Decimal(1)'s: "
        "both round to a whole number.",
    ),
    **{
        f"{_M}xǁMoneyǁto_major__mutmut_{n}": Equivalent(
            fragment,
            "An amount is at most 19 digits (__post_init__ refuses more than 64 bits), and moving "
            "its point is exact in the default 28-digit context too: the context is never used.",
        )
        for n, fragment in ((2, "context=None"), (4, "self.currency.exponent, )"))
    },
}


def judged_equivalent(mutant: str, diff: str) -> Equivalent | None:
    """The entry for this survivor, if its diff still shows the judged change."""
    entry = EQUIVALENT.get(mutant)
    added = [line[1:] for line in diff.splitlines() if line.startswith("+")]
    if entry is None or not any(entry.fragment in line for line in added):
        return None
    return entry
