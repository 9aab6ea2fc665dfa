// Checks a signed statement or receipt in the browser: the hub's published keys (embedded in the
// page), the Ed25519 signature through WebCrypto, then the claims. Nothing leaves the browser.
// Mirrors ledger/settlement/messages.py `verify_message` for the documents the hub gives workers;
// the server's answer (POST /web/verify, POST /v1/verify) is the reference.
"use strict";
(() => {
  const HEADER_TYP = "clmtv-msg+jwt";
  const ALGS = new Set(["Ed25519", "EdDSA"]);
  const FORBIDDEN_HEADER = ["jwk", "jku", "x5u", "x5c", "crit", "b64"];
  const TYPES = new Set(["statement.worker", "payment.receipt"]);
  const SKEW_S = 60;
  const EXPONENTS = { KHR: 2, LAK: 2, MMK: 2, THB: 2, VND: 0, JPY: 0, MYR: 2, USD: 2 };
  const messages = document.getElementById("verify-messages").dataset;
  const jwks = JSON.parse(document.getElementById("jwks").textContent);
  const form = document.getElementById("verify-form");
  const area = document.getElementById("document");
  const verdict = document.getElementById("verdict");
  const details = document.getElementById("details");

  class Refused extends Error {
    constructor(reason, text) { super(text); this.reason = reason; }
  }

  function bytesOf(b64url) {
    if (!/^[A-Za-z0-9_-]*$/.test(b64url)) throw new Refused("malformed", messages.malformed);
    const b64 = b64url.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((b64url.length + 3) % 4);
    const text = atob(b64);
    return Uint8Array.from(text, (c) => c.charCodeAt(0));
  }

  function jsonOf(b64url) {
    try {
      const value = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytesOf(b64url)));
      if (value === null || typeof value !== "object" || Array.isArray(value)) throw new Error();
      return value;
    } catch (e) {
      throw new Refused("malformed", messages.malformed);
    }
  }

  function keyState(jwk, t) {
    if (jwk.revoked_at !== undefined && t >= jwk.revoked_at) return "revoked";
    if (jwk.nbf !== undefined && t < jwk.nbf) return "not_yet_valid";
    if (jwk.exp !== undefined && t >= jwk.exp) return "expired";
    return "valid";
  }

  async function verify(token, now) {
    const parts = token.split(".");
    if (parts.length !== 3) throw new Refused("malformed", messages.malformed);
    const header = jsonOf(parts[0]);
    if (!ALGS.has(header.alg) || header.typ !== HEADER_TYP
        || FORBIDDEN_HEADER.some((m) => m in header) || typeof header.kid !== "string") {
      throw new Refused("header_rejected", messages.malformed);
    }
    const jwk = (jwks.keys || []).find((k) => k.kid === header.kid);
    if (!jwk) throw new Refused("unknown_key", messages.unknownKey);
    if (keyState(jwk, now) !== "valid") throw new Refused("key_state", messages.keyState);
    let key;
    try {
      key = await crypto.subtle.importKey("jwk", { kty: "OKP", crv: "Ed25519", x: jwk.x },
                                          { name: "Ed25519" }, false, ["verify"]);
    } catch (e) {
      throw new Refused("unsupported", messages.unsupported);
    }
    const signed = new TextEncoder().encode(parts[0] + "." + parts[1]);
    const ok = await crypto.subtle.verify({ name: "Ed25519" }, key, bytesOf(parts[2]), signed);
    if (!ok) throw new Refused("signature_invalid", messages.tampered);
    const claims = jsonOf(parts[1]);
    if (claims.iss !== "HUB" || !TYPES.has(claims.typ)) {
      throw new Refused("wrong_type", messages.wrongType);
    }
    if (keyState(jwk, claims.iat) !== "valid") throw new Refused("key_state", messages.keyState);
    if (!(claims.exp > now - SKEW_S) || claims.iat > now + SKEW_S) {
      throw new Refused("expired", messages.expired);
    }
    return claims;
  }

  function money(m) {
    const exponent = EXPONENTS[m.currency] ?? 2;
    const value = Number(BigInt(m.amount_minor)) / 10 ** exponent;  // display only
    return new Intl.NumberFormat(messages.lang, { style: "currency", currency: m.currency,
      minimumFractionDigits: exponent, maximumFractionDigits: exponent }).format(value);
  }

  function when(seconds) {
    return new Intl.DateTimeFormat(messages.lang, { dateStyle: "long" })
      .format(new Date(seconds * 1000));
  }

  function line(text) {
    const p = document.createElement("p");
    p.textContent = text;
    details.appendChild(p);
  }

  async function sha256Hex(text) {
    const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
    return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function show(valid, text, reason) {
    verdict.replaceChildren();
    const box = document.createElement("div");
    box.className = valid ? "valid" : "invalid";
    box.dataset.valid = String(valid);
    if (reason) box.dataset.reason = reason;
    const strong = document.createElement("strong");
    strong.textContent = valid ? messages.valid : messages.invalid;
    box.appendChild(strong);
    if (text) box.appendChild(document.createTextNode(" " + text));
    verdict.appendChild(box);
  }

  async function check() {
    const token = area.value.trim();
    details.replaceChildren();
    if (!token) return true;
    let claims;
    try {
      claims = await verify(token, Math.floor(Date.now() / 1000));
    } catch (e) {
      if (e instanceof Refused && e.reason === "unsupported") return false;  // ask the server
      show(false, e instanceof Refused ? e.message : messages.malformed,
           e instanceof Refused ? e.reason : "malformed");
      return true;
    }
    show(true, "", null);
    line(`${messages.issuedTo}: ${claims.aud} · ${messages.issued}: ${when(claims.iat)} · `
         + `${messages.expires}: ${when(claims.exp)}`);
    const body = claims.body || {};
    for (const fund of body.funds || []) {
      line(`${fund.fund}: ${fund.months} · ${(fund.totals || []).map(money).join(", ")}`);
    }
    if (body.paid) line(`${body.channel}: ${money(body.paid)} → ${body.fund} ${body.scheme}`);
    const fragment = new URLSearchParams(location.hash.slice(1));
    if (fragment.get("sha256")) {
      const matches = (await sha256Hex(token)) === fragment.get("sha256");
      line(matches ? messages.qrMatch : messages.qrMismatch);
    }
    return true;
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!(await check())) form.submit();  // no Ed25519 in this browser: the server checks
  });
  document.getElementById("file").addEventListener("change", async (event) => {
    const file = event.target.files[0];
    if (!file) return;
    area.value = (await file.text()).trim();
    if (!(await check())) form.submit();
  });
})();
