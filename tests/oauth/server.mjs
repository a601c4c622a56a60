// A test-only OAuth 2.0 authorization server for greet's integration tests,
// built on panva's oidc-provider (pinned in package.json; needs Node >= 22:
// run it with node_modules/.bin/node, which `npm ci` installs here). It binds
// 127.0.0.1 only, keeps everything in memory, prints "LISTENING <port>" on
// stdout once ready, and stops on SIGTERM/SIGINT.
//
// Endpoints greet's config takes (issuer = http://127.0.0.1:<port>):
//   authorize {issuer}/auth           token         {issuer}/token
//   device    {issuer}/device/auth    revocation    {issuer}/token/revocation
//   introspection {issuer}/token/introspection
//
// Clients:
//   greet-cli          public (token_endpoint_auth_method none), PKCE required,
//                      redirect http://127.0.0.1/ or /callback on any port (RFC 8252);
//                      grants authorization_code, refresh_token, device_code
//   greet-google-like  the same, but it must send client_secret=installed-app-secret
//                      in the form (client_secret_post), like Google's "installed app"
//   smtp-server        confidential (smtp-secret, HTTP Basic): introspects tokens
// Scopes: openid offline_access SMTP.Send. A refresh token is issued when
// offline_access is granted; in the authorization-code flow a request without
// `prompt` gets prompt=consent added (as Microsoft: offline_access is enough).
//
// Knobs (environment):
//   PORT          port to bind (0 or unset: an ephemeral one)
//   ACCOUNT       the account the test "owner" signs in as (shop@example.test)
//   ACCESS_TTL, REFRESH_TTL, DEVICE_TTL   lifetimes in seconds (3600, 86400, 600)
//   ROTATION      strict (default): every refresh rotates the refresh token and
//                 re-using a rotated one revokes the whole grant (oidc-provider's own);
//                 lenient: a new refresh token on every refresh, the previous one
//                 still valid until it expires (as Microsoft's identity platform)
//   DEVICE_INTERVAL  seconds: announced as `interval` in the device authorization
//                 response, and a poll of a pending device code sooner than that
//                 after the previous poll gets `slow_down` (RFC 8628 3.5). Unset:
//                 no interval announced, no slow_down (oidc-provider's own)
//
// Test-only endpoints (not OAuth):
//   GET  /interaction/:uid      auto-approves: signs in as ACCOUNT, consents to every scope
//   POST /test/device/approve   user_code=…[&deny=1][&account=…]: the owner on the
//                               verification page (deny: access_denied)
//   POST /test/revoke-all       [account=…]: the owner removes the app's access; every
//                               grant of the account and all its tokens are gone
//                               (refresh: invalid_grant; introspection: inactive)
import http from 'node:http';
import { URLSearchParams } from 'node:url';
import Provider from 'oidc-provider';

const ACCOUNT = process.env.ACCOUNT || 'shop@example.test';
const num = (name, dflt) => Number(process.env[name] || dflt);
const ROTATION = process.env.ROTATION || 'strict';
if (!['strict', 'lenient'].includes(ROTATION)) {
  console.error(`ROTATION must be strict or lenient, not ${ROTATION}`);
  process.exit(2);
}
const DEVICE_INTERVAL = num('DEVICE_INTERVAL', 0);

// In-memory storage for every oidc-provider model (the adapter interface of
// oidc-provider's docs). The one change from its own memory adapter: with
// ROTATION=lenient, consuming a RefreshToken does nothing, so a rotated one
// stays usable until it expires. An expired entry is kept an hour longer, so
// the provider itself answers that it expired (expired_token for a device
// code, as Google and Microsoft do) instead of not finding it.
const KEEP_EXPIRED_MS = 3600 * 1000;
const store = new Map(); // "Model:id" -> { payload, expiresAt }
const byGrant = new Map(); // grantId -> Set of "Model:id"
const userCodes = new Map(); // userCode -> DeviceCode id
const uids = new Map(); // Session uid -> Session id

function live(key) {
  const entry = store.get(key);
  if (!entry) return undefined;
  if (entry.expiresAt !== undefined && entry.expiresAt <= Date.now()) {
    store.delete(key);
    return undefined;
  }
  return entry.payload;
}

class TestAdapter {
  constructor(model) { this.model = model; }

  key(id) { return `${this.model}:${id}`; }

  async upsert(id, payload, expiresIn) {
    const key = this.key(id);
    const expiresAt = typeof expiresIn === 'number'
      ? Date.now() + expiresIn * 1000 + KEEP_EXPIRED_MS
      : undefined;
    store.set(key, { payload: structuredClone(payload), expiresAt });
    if (payload.grantId) {
      if (!byGrant.has(payload.grantId)) byGrant.set(payload.grantId, new Set());
      byGrant.get(payload.grantId).add(key);
    }
    if (payload.userCode) userCodes.set(payload.userCode, id);
    if (this.model === 'Session' && payload.uid) uids.set(payload.uid, id);
  }

  async find(id) {
    const payload = live(this.key(id));
    return payload && structuredClone(payload);
  }

  async findByUserCode(userCode) { return this.find(userCodes.get(userCode)); }

  async findByUid(uid) { return this.find(uids.get(uid)); }

  async consume(id) {
    if (ROTATION === 'lenient' && this.model === 'RefreshToken') return;
    const payload = live(this.key(id));
    if (payload) payload.consumed = Math.floor(Date.now() / 1000);
  }

  async destroy(id) { store.delete(this.key(id)); }

  async revokeByGrantId(grantId) {
    for (const key of byGrant.get(grantId) ?? []) {
      if (key.startsWith(`${this.model}:`)) store.delete(key);
    }
  }
}

// Every grant of `accountId` and every token, code and device code of it.
function revokeAll(accountId) {
  let grants = 0;
  for (const [key, { payload }] of [...store]) {
    if (key.startsWith('Grant:') && payload.accountId === accountId) {
      const grantId = key.slice('Grant:'.length);
      for (const member of byGrant.get(grantId) ?? []) store.delete(member);
      byGrant.delete(grantId);
      store.delete(key);
      grants += 1;
    }
  }
  return grants;
}

const server = http.createServer();
await new Promise((resolve) => { server.listen(num('PORT', 0), '127.0.0.1', resolve); });
const { port } = server.address();
const issuer = `http://127.0.0.1:${port}`;

const nativeClient = {
  application_type: 'native',
  // Any loopback port is accepted (RFC 8252 7.3); greet comes back to "/" (Google's own
  // installed-app libraries do), other apps to /callback.
  redirect_uris: ['http://127.0.0.1/', 'http://127.0.0.1/callback'],
  grant_types: ['authorization_code', 'refresh_token',
    'urn:ietf:params:oauth:grant-type:device_code'],
  response_types: ['code'],
};

const provider = new Provider(issuer, {
  adapter: TestAdapter,
  clients: [
    { ...nativeClient, client_id: 'greet-cli', token_endpoint_auth_method: 'none' },
    {
      ...nativeClient,
      client_id: 'greet-google-like',
      client_secret: 'installed-app-secret',
      token_endpoint_auth_method: 'client_secret_post',
    },
    {
      client_id: 'smtp-server',
      client_secret: 'smtp-secret',
      grant_types: [],
      response_types: [],
      redirect_uris: [],
    },
  ],
  scopes: ['openid', 'offline_access', 'SMTP.Send'],
  findAccount: async (ctx, sub) => ({ accountId: sub, claims: async () => ({ sub, email: sub }) }),
  cookies: { keys: ['test-only-cookie-key'] },
  pkce: { required: () => true },
  features: {
    devInteractions: { enabled: false },
    deviceFlow: { enabled: true },
    revocation: { enabled: true, allowedPolicy: async () => true },
    introspection: { enabled: true, allowedPolicy: async () => true },
  },
  rotateRefreshToken: true,
  ttl: {
    AccessToken: num('ACCESS_TTL', 3600),
    RefreshToken: num('REFRESH_TTL', 86400),
    DeviceCode: num('DEVICE_TTL', 600),
    AuthorizationCode: 60,
    Grant: 30 * 86400,
    Session: 86400,
    Interaction: 600,
    IdToken: 3600,
  },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
});

// DEVICE_INTERVAL: announce it, and answer slow_down to a pending device code
// polled sooner than that after its previous poll.
const lastPoll = new Map(); // device_code -> ms
provider.use(async (ctx, next) => {
  await next();
  if (!DEVICE_INTERVAL) return;
  if (ctx.path === '/device/auth' && ctx.status === 200 && ctx.body) {
    ctx.body.interval = DEVICE_INTERVAL;
  }
  if (ctx.path === '/token' && ctx.body?.error === 'authorization_pending') {
    const code = ctx.oidc?.params?.device_code;
    const now = Date.now();
    const previous = lastPoll.get(code);
    lastPoll.set(code, now);
    if (previous !== undefined && now - previous < DEVICE_INTERVAL * 1000) {
      ctx.body = {
        error: 'slow_down',
        error_description: 'you are polling too quickly and should back off at a reasonable rate',
      };
    }
  }
});

async function readForm(req) {
  let body = '';
  for await (const chunk of req) body += chunk;
  return new URLSearchParams(body);
}

async function newGrant(accountId, clientId, scope) {
  const grant = new provider.Grant({ accountId, clientId });
  grant.addOIDCScope(scope);
  return grant.save();
}

for (const ev of ['grant.error', 'introspection.error', 'revocation.error', 'server_error']) {
  provider.on(ev, (ctx, err) => console.error(`${ev}: ${err.message} ${err.error_detail || ''}`));
}

const callback = provider.callback();
server.on('request', async (req, res) => {
  try {
    const url = new URL(req.url, issuer);
    if (req.method === 'GET' && url.pathname === '/auth'
      && (url.searchParams.get('scope') || '').split(' ').includes('offline_access')
      && !url.searchParams.has('prompt')) {
      url.searchParams.set('prompt', 'consent');
      req.url = url.pathname + url.search;
    }
    if (req.method === 'GET' && url.pathname.startsWith('/interaction/')) {
      // Auto-approve: sign in as ACCOUNT, then grant every requested scope.
      const details = await provider.interactionDetails(req, res);
      let result;
      if (details.prompt.name === 'login') {
        result = { login: { accountId: ACCOUNT } };
      } else {
        const grantId = await newGrant(
          details.session.accountId,
          details.params.client_id,
          details.params.scope,
        );
        result = { consent: { grantId } };
      }
      await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: true });
      return;
    }
    if (req.method === 'POST' && url.pathname === '/test/device/approve') {
      // What the owner does on the verification page, without a browser.
      const form = await readForm(req);
      const normalized = (form.get('user_code') || '').replace(/[^A-Za-z0-9]/g, '').toUpperCase();
      const code = await provider.DeviceCode.findByUserCode(normalized);
      if (!code || code.accountId || code.error) {
        res.writeHead(404).end('no pending device code\n');
        return;
      }
      if (form.get('deny')) {
        Object.assign(code, { error: 'access_denied', errorDescription: 'End-User denied' });
      } else {
        const accountId = form.get('account') || ACCOUNT;
        const scope = code.params.scope || 'openid';
        Object.assign(code, {
          accountId,
          scope,
          authTime: Math.floor(Date.now() / 1000),
          grantId: await newGrant(accountId, code.clientId, scope),
        });
      }
      await code.save();
      res.writeHead(200).end('ok\n');
      return;
    }
    if (req.method === 'POST' && url.pathname === '/test/revoke-all') {
      const form = await readForm(req);
      const grants = revokeAll(form.get('account') || ACCOUNT);
      res.writeHead(200).end(`revoked ${grants}\n`);
      return;
    }
    callback(req, res);
  } catch (err) {
    console.error(`test server: ${err}`);
    res.writeHead(500).end(`${err}\n`);
  }
});

console.log(`LISTENING ${port}`);
for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  });
}
