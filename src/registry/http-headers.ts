// Pure parsers for the two headers the distribution API drives us with: WWW-Authenticate and Link.

export interface AuthChallenge {
  scheme: string; // lower-case: basic, bearer
  params: Record<string, string>; // realm, service, scope, error (keys lower-case)
}

/**
 * `Bearer realm="https://auth/token",service="registry",scope="repository:a/b:pull,push"`. Quoted values may
 * contain commas; several challenges may be given in one header.
 */
export function parseWwwAuthenticate(header: string | null | undefined): AuthChallenge[] {
  if (!header) return [];
  const challenges: AuthChallenge[] = [];
  const param = /\s*([\w-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*,?/y;
  const scheme = /\s*([A-Za-z][\w-]*)\s*,?/y;
  let current: AuthChallenge | undefined;
  let pos = 0;
  while (pos < header.length) {
    param.lastIndex = pos;
    const p = current ? param.exec(header) : null;
    if (p && current) {
      current.params[p[1].toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : (p[3] ?? '');
      pos = param.lastIndex;
      continue;
    }
    scheme.lastIndex = pos;
    const s = scheme.exec(header);
    if (!s) break;
    current = { scheme: s[1].toLowerCase(), params: {} };
    challenges.push(current);
    pos = scheme.lastIndex;
  }
  return challenges;
}

/** The `rel="next"` target of a Link header, resolved against the URL of the response (it may be relative). */
export function nextLink(header: string | null | undefined, base: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(/,(?=\s*<)/)) {
    const m = /<([^>]*)>(.*)/.exec(part.trim());
    if (m && /;\s*rel="?([^";]*\s)?next(\s[^";]*)?"?/i.test(m[2])) return new URL(m[1], base).toString();
  }
  return undefined;
}
