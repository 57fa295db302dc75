import { createPrivateKey, randomUUID, sign, X509Certificate } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

// A Docker token server (the `auth.token` realm of distribution): checks Basic credentials, grants the requested
// scopes as RS256 JWTs carrying the signing certificate in `x5c`, which the registry verifies against its
// `rootcertbundle`. Requests are recorded so tests can prove that tokens are cached per scope.

export interface TokenRequest {
  /** Basic user, or undefined when the request was anonymous. */
  user?: string;
  service?: string;
  scopes: string[];
  /** 200 when a token was issued, 401 when the credentials were refused. */
  status: number;
}

export interface TokenServer {
  /** The realm URL to put in the registry's config. */
  realm: string;
  service: string;
  issuer: string;
  requests: TokenRequest[];
  close(): Promise<void>;
}

export interface TokenServerOptions {
  users: Record<string, string>;
  /** PEM certificate and key that sign the tokens (the registry trusts the certificate). */
  certificatePem: string;
  keyPem: string;
  service?: string;
  issuer?: string;
  /** `expires_in` of each token, seconds. */
  expiresIn?: number;
  /** Anonymous requests get a token without any access (as Docker Hub does for private repositories). */
  anonymousAccess?: boolean;
}

interface Access {
  type: string;
  name: string;
  actions: string[];
}

/** `repository:team/app:pull,push` -> access entry; the name may itself hold colons (host:port/...). */
function parseScope(scope: string): Access | undefined {
  const first = scope.indexOf(':');
  const last = scope.lastIndexOf(':');
  if (first < 0 || last <= first) return undefined;
  return {
    type: scope.slice(0, first),
    name: scope.slice(first + 1, last),
    actions: scope.slice(last + 1).split(','),
  };
}

function base64url(data: Buffer | string): string {
  return Buffer.from(data).toString('base64url');
}

export async function startTokenServer(opts: TokenServerOptions): Promise<TokenServer> {
  const service = opts.service ?? 'test-registry';
  const issuer = opts.issuer ?? 'image-scan-gate-test-issuer';
  const expiresIn = opts.expiresIn ?? 300;
  const key = createPrivateKey(opts.keyPem);
  const certDer = new X509Certificate(opts.certificatePem).raw.toString('base64');
  const requests: TokenRequest[] = [];

  function issue(subject: string, access: Access[]): string {
    const now = Math.floor(Date.now() / 1000);
    const header = { alg: 'RS256', typ: 'JWT', x5c: [certDer] };
    const claims = {
      iss: issuer,
      sub: subject,
      aud: service,
      exp: now + expiresIn,
      nbf: now - 10,
      iat: now,
      jti: randomUUID(),
      access,
    };
    const signingInput = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}`;
    const signature = sign('RSA-SHA256', Buffer.from(signingInput), key);
    return `${signingInput}.${base64url(signature)}`;
  }

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://token.local');
    const scopes = url.searchParams.getAll('scope').flatMap((s) => s.split(' ').filter(Boolean));
    const auth = req.headers.authorization;
    let user: string | undefined;
    if (auth?.startsWith('Basic ')) {
      const decoded = Buffer.from(auth.slice(6), 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      user = decoded.slice(0, colon);
      const password = decoded.slice(colon + 1);
      if (opts.users[user] === undefined || opts.users[user] !== password) {
        requests.push({ user, service: url.searchParams.get('service') ?? undefined, scopes, status: 401 });
        res.writeHead(401, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ details: 'incorrect username or password' }));
        return;
      }
    }
    requests.push({ user, service: url.searchParams.get('service') ?? undefined, scopes, status: 200 });
    const access = user || opts.anonymousAccess ? scopes.map(parseScope).filter((a): a is Access => !!a) : [];
    const token = issue(user ?? '', access);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        token,
        access_token: token,
        expires_in: expiresIn,
        issued_at: new Date().toISOString(),
      }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    realm: `http://127.0.0.1:${port}/token`,
    service,
    issuer,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
