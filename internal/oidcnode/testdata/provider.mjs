// panva's oidc-provider configured for tokenkeeper's interop tests: it listens
// on 127.0.0.1 at a free port, prints "issuer <URL>" on stdout once it serves,
// and runs until it is killed. Test-only: in-memory storage, development keys.
//
// Clients (all public except the service one):
//   tk-public   authorization code + PKCE, device grant, refresh tokens with
//               offline_access (granted only with prompt=consent, as the
//               provider's default does), rotation with reuse detection
//   tk-fewer    the same, but a refresh token is issued even when the grant has
//               no offline_access: asked "openid offline_access" without
//               prompt=consent, the token answer says "scope": "openid" and the
//               refresh token carries only openid
//   tk-service  client_credentials, secret "tk-service-secret"
//
// With TK_CLIENT_KEYS (a JSON object of kid → public key PEM), clients that
// authenticate with private_key_jwt (RFC 7523), registered with those keys:
//   tk-jwt-service  client_credentials
//   tk-jwt          authorization code + PKCE and refresh tokens, as tk-public
// With TK_CLIENT_CERT (a PEM certificate) and TK_TLS_CERT / TK_TLS_KEY (the
// server's own, PEM), a client that authenticates with that self-signed
// certificate over TLS (RFC 8705), and an https listener that asks for a
// client certificate, published as the mtls_endpoint_aliases:
//   tk-mtls-service  client_credentials, self_signed_tls_client_auth
//
// Login needs no person: /interaction/:uid is a plain form (login, password,
// action=allow|deny) that a scripted browser posts; any login with password
// "verysecure" is accepted. The device pages are plain forms too.
//
// /_test/ is the tests' window into the provider, not an OAuth endpoint:
//   GET  /_test/counts             {"refresh": {token: times presented}, "grants": {grant_type: requests},
//                                   "refresh_with_scope": refresh requests that carried a scope}
//   GET  /_test/live?token=RT      {"live": bool}: would a refresh with RT be accepted
//   POST /_test/revoke?token=RT    an administrator revokes the grant behind RT
import crypto from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { Provider } from 'oidc-provider';

const password = 'verysecure';
const deviceCode = 'urn:ietf:params:oauth:grant-type:device_code';
const publicClient = (id) => ({
  client_id: id,
  application_type: 'native',
  token_endpoint_auth_method: 'none',
  grant_types: ['authorization_code', 'refresh_token', deviceCode],
  response_types: ['code'],
  redirect_uris: ['http://127.0.0.1/callback', 'http://localhost/callback'],
});

const server = http.createServer();
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;

// Client authentication with keys: the tests give the public keys.
const keyClients = [];
if (process.env.TK_CLIENT_KEYS) {
  const keys = Object.entries(JSON.parse(process.env.TK_CLIENT_KEYS)).map(([kid, pem]) => (
    { ...crypto.createPublicKey(pem).export({ format: 'jwk' }), kid, use: 'sig' }));
  keyClients.push({
    client_id: 'tk-jwt-service',
    token_endpoint_auth_method: 'private_key_jwt',
    jwks: { keys },
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
  }, {
    ...publicClient('tk-jwt'),
    token_endpoint_auth_method: 'private_key_jwt',
    jwks: { keys },
  });
}
let tlsServer;
const mtlsBase = () => `https://127.0.0.1:${tlsServer.address().port}`;
if (process.env.TK_CLIENT_CERT) {
  const cert = new crypto.X509Certificate(process.env.TK_CLIENT_CERT);
  keyClients.push({
    client_id: 'tk-mtls-service',
    token_endpoint_auth_method: 'self_signed_tls_client_auth',
    jwks: { keys: [{ ...cert.publicKey.export({ format: 'jwk' }), x5c: [cert.raw.toString('base64')] }] },
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
  });
  tlsServer = https.createServer({
    cert: process.env.TK_TLS_CERT, key: process.env.TK_TLS_KEY, requestCert: true, rejectUnauthorized: false,
  });
  await new Promise((resolve) => tlsServer.listen(0, '127.0.0.1', resolve));
}

const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const page = (title, body) => `<!doctype html><title>${esc(title)}</title>${body}`;

const provider = new Provider(issuer, {
  clients: [
    publicClient('tk-public'),
    publicClient('tk-fewer'),
    {
      client_id: 'tk-service',
      client_secret: 'tk-service-secret',
      token_endpoint_auth_method: 'client_secret_post',
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
    },
    ...keyClients,
  ],
  clientAuthMethods: ['none', 'client_secret_post', 'client_secret_basic', 'private_key_jwt', 'self_signed_tls_client_auth'],
  enabledJWA: { clientAuthSigningAlgValues: ['RS256', 'ES256', 'ES384', 'EdDSA'] },
  discovery: tlsServer ? {
    mtls_endpoint_aliases: {
      token_endpoint: `${mtlsBase()}/token`,
      revocation_endpoint: `${mtlsBase()}/token/revocation`,
      device_authorization_endpoint: `${mtlsBase()}/device/auth`,
    },
  } : {},
  cookies: { keys: ['tokenkeeper interop test cookie key'] },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    revocation: { enabled: true },
    mTLS: {
      enabled: true,
      selfSignedTlsClientAuth: true,
      // The https listener asks every client for a certificate and checks
      // none: self_signed_tls_client_auth compares it with the registered one.
      getCertificate: (ctx) => {
        const peer = typeof ctx.socket.getPeerCertificate === 'function' && ctx.socket.getPeerCertificate();
        return peer && peer.raw ? new crypto.X509Certificate(peer.raw) : undefined;
      },
    },
    deviceFlow: {
      enabled: true,
      userCodeInputSource: async (ctx, form) => { ctx.body = page('Device', `${form}`); },
      userCodeConfirmSource: async (ctx, form) => { ctx.body = page('Confirm device', `${form}`); },
      successSource: async (ctx) => { ctx.body = page('Done', '<p>done; return to the device</p>'); },
    },
  },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  findAccount: async (ctx, sub) => ({ accountId: sub, claims: async () => ({ sub }) }),
  rotateRefreshToken: true,
  issueRefreshToken: async (ctx, client, code) => client.grantTypeAllowed('refresh_token')
    && (code.scopes.has('offline_access') || client.clientId === 'tk-fewer'),
  pkce: { required: () => true },
  renderError: async (ctx, out) => { ctx.type = 'html'; ctx.body = page('Error', `<pre>${esc(JSON.stringify(out))}</pre>`); },
});

// What went wrong, on stderr: the Go helper shows it when a test fails.
for (const event of ['server_error', 'authorization.error', 'grant.error', 'revocation.error', 'code_verification.error']) {
  provider.on(event, (ctx, err) => console.error(`${event}: ${err.name}: ${err.message} ${err.error_detail || ''}`));
}

const counts = { refresh: {}, grants: {}, refresh_with_scope: 0 };

async function formBody(req) {
  let raw = '';
  for await (const chunk of req) {
    raw += chunk;
    if (raw.length > 1 << 16) throw new Error('form too large');
  }
  return new URLSearchParams(raw);
}

async function interaction(ctx, uid) {
  const details = await provider.interactionDetails(ctx.req, ctx.res);
  if (details.uid !== uid) ctx.throw(400, 'interaction mismatch');
  if (ctx.method === 'GET') {
    ctx.body = page('Log in', `<form method="post" action="/interaction/${esc(uid)}">
<input name="login"><input name="password" type="password">
<button name="action" value="allow">Log in</button><button name="action" value="deny">Refuse</button></form>`);
    return;
  }
  const form = await formBody(ctx.req);
  let result;
  if (form.get('action') === 'deny') {
    result = { error: 'access_denied', error_description: 'the user refused' };
  } else if (form.get('password') !== password || !form.get('login')) {
    ctx.status = 401;
    ctx.body = page('Log in', '<p>wrong login or password</p>');
    return;
  } else {
    const accountId = form.get('login');
    const clientId = details.params.client_id;
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId, clientId });
    if (details.params.scope) grant.addOIDCScope(details.params.scope);
    result = { login: { accountId }, consent: { grantId: await grant.save() } };
  }
  ctx.redirect(await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: false }));
}

async function refreshToken(value) {
  const rt = value && await provider.RefreshToken.find(value, { ignoreExpiration: true });
  if (!rt || rt.isExpired || rt.consumed) return undefined;
  return (await provider.Grant.find(rt.grantId)) ? rt : undefined;
}

async function testWindow(ctx) {
  const token = ctx.query.token;
  if (ctx.path === '/_test/counts' && ctx.method === 'GET') {
    ctx.body = counts;
  } else if (ctx.path === '/_test/live' && ctx.method === 'GET') {
    ctx.body = { live: Boolean(await refreshToken(token)) };
  } else if (ctx.path === '/_test/revoke' && ctx.method === 'POST') {
    const rt = await refreshToken(token);
    if (!rt) ctx.throw(404, 'no live refresh token');
    // What an administrator's "revoke access" does: the grant and every
    // token of it end.
    for (const model of [provider.RefreshToken, provider.AccessToken, provider.AuthorizationCode]) {
      await model.revokeByGrantId(rt.grantId);
    }
    await (await provider.Grant.find(rt.grantId)).destroy();
    ctx.body = { revoked: true };
  } else {
    ctx.throw(404);
  }
}

provider.use(async (ctx, next) => {
  if (ctx.path.startsWith('/_test/')) return testWindow(ctx);
  const m = /^\/interaction\/([^/]+)$/.exec(ctx.path);
  if (m) return interaction(ctx, m[1]);
  await next();
  // Counted after the provider has parsed the request: what reached the
  // token endpoint, whatever the answer.
  if (ctx.path === '/token' && ctx.method === 'POST' && ctx.oidc?.params) {
    const { grant_type: gty, refresh_token: rt } = ctx.oidc.params;
    counts.grants[gty] = (counts.grants[gty] || 0) + 1;
    if (gty === 'refresh_token' && rt) counts.refresh[rt] = (counts.refresh[rt] || 0) + 1;
    if (gty === 'refresh_token' && ctx.oidc.params.scope !== undefined) counts.refresh_with_scope += 1;
  }
});

server.on('request', provider.callback());
if (tlsServer) tlsServer.on('request', provider.callback());
process.on('SIGTERM', () => process.exit(0));
// The test that started us holds our stdin open: when it ends, even killed,
// so do we.
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
process.stdout.write(`issuer ${issuer}\n`);
