// Verifies identity tokens the way a Node.js backend would: jose, with the
// keys fetched from the JWK Set URL (createRemoteJWKSet). Used by
// test/integration/test_jwt.py.
//
//   node verify.mjs < cases.json
//
// Input: {"jwks": URL, "cases": [{"token", "issuer", "audience", "now"?}, ...]}
// ("now": Unix seconds to verify at, as a backend whose clock says so).
// Output: one JSON array, per case {"ok": true, "payload", "header"} or
// {"ok": false, "code": jose's error code}. Exit status 0 unless the input
// itself is unusable.
import { createRemoteJWKSet, jwtVerify } from 'jose';

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const input = JSON.parse(Buffer.concat(chunks).toString('utf8'));
// A fresh key set for this run: no keys cached from an earlier fetch.
const keys = createRemoteJWKSet(new URL(input.jwks), { timeoutDuration: 10000 });
const results = [];
for (const c of input.cases) {
  try {
    const { payload, protectedHeader } = await jwtVerify(c.token, keys, {
      issuer: c.issuer,
      audience: c.audience,
      algorithms: ['EdDSA', 'ES256'],
      currentDate: c.now === undefined ? undefined : new Date(c.now * 1000),
    });
    results.push({ ok: true, payload, header: protectedHeader });
  } catch (e) {
    results.push({ ok: false, code: e.code || e.name, message: String(e.message) });
  }
}
process.stdout.write(JSON.stringify(results) + '\n');
