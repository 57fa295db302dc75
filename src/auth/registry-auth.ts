import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node } from 'yaml';
import { z } from 'zod';
import type { RegistryAuthEntry } from '../config.js';
import { ConfigurationError } from '../errors.js';
import { normaliseRegistryHost } from '../targets/reference.js';

// The `registry-auth` input: a YAML list, one entry per registry host. Pure. Messages name the entry (1-based),
// its line and the key, and never quote a value: the text is full of secrets.

const INPUT = 'registry-auth';
const KEYS = ['registry', 'username', 'password', 'token', 'provider'] as const;
const PROVIDERS = ['ecr', 'gar', 'acr', 'ghcr'] as const;

const entrySchema = z.strictObject({
  registry: z.string().trim().min(1),
  username: z.string().min(1).optional(),
  password: z.string().min(1).optional(),
  token: z.string().min(1).optional(),
  provider: z.enum(PROVIDERS).optional(),
});

const EXAMPLE =
  'e.g.\n  - registry: ghcr.io\n    provider: ghcr\n  - registry: registry.example.com\n    username: ci\n    password: ${{ secrets.REGISTRY_PASSWORD }}';

export function parseRegistryAuth(yamlText: string): RegistryAuthEntry[] {
  if (yamlText.trim() === '') return [];
  const lines = new LineCounter();
  const doc = parseDocument(yamlText, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const lineOf = (node: Node | null | undefined) => lines.linePos(node?.range?.[0] ?? 0).line;
  const syntax = doc.errors[0];
  if (syntax) {
    // yaml's own message quotes the source line, which may hold a password.
    throw new ConfigurationError(
      `${INPUT}: not valid YAML (line ${lines.linePos(syntax.pos[0]).line}: ${syntax.code}). Give a list of entries, ${EXAMPLE}`,
      INPUT,
    );
  }
  const root = doc.contents;
  if (!isSeq(root)) {
    throw new ConfigurationError(
      `${INPUT}: expected a YAML list of entries (each starting with "- registry:"), ${EXAMPLE}`,
      INPUT,
    );
  }

  const entries: RegistryAuthEntry[] = [];
  const firstEntryOfHost = new Map<string, number>();
  root.items.forEach((item, i) => {
    const n = i + 1;
    const node = item as Node;
    const where = `${INPUT} entry ${n} (line ${lineOf(node)})`;
    if (!isMap(node))
      throw new ConfigurationError(
        `${where}: expected a mapping with "registry" and credentials, ${EXAMPLE}`,
        INPUT,
      );
    const result = entrySchema.safeParse(node.toJS(doc));
    if (!result.success) {
      const issue = result.error.issues[0];
      const keyNode = (key: string) =>
        node.items.find((p) => isScalar(p.key) && p.key.value === key)?.key as Node | undefined;
      if (issue.code === 'unrecognized_keys') {
        const key = issue.keys[0];
        throw new ConfigurationError(
          `${INPUT} entry ${n} (line ${lineOf(keyNode(key) ?? node)}): unknown key "${key}"; allowed: ${KEYS.join(', ')}.`,
          INPUT,
        );
      }
      const key = String(issue.path[0] ?? '');
      const at = `${INPUT} entry ${n} (line ${lineOf(keyNode(key) ?? node)})`;
      if (key === 'provider')
        throw new ConfigurationError(`${at}: "provider" must be one of ${PROVIDERS.join(', ')}.`, INPUT);
      if (key === 'registry' && issue.code === 'invalid_type' && issue.input === undefined) {
        throw new ConfigurationError(
          `${at}: "registry" is missing: name the host, e.g. registry: ghcr.io`,
          INPUT,
        );
      }
      throw new ConfigurationError(
        issue.code === 'invalid_type'
          ? `${at}: "${key}" must be a string (quote the value).`
          : `${at}: "${key}" must not be empty.`,
        INPUT,
      );
    }
    const e = result.data;
    const registry = checkedHost(e.registry, where);
    const kinds = [
      e.username !== undefined || e.password !== undefined,
      e.token !== undefined,
      e.provider !== undefined,
    ];
    const count = kinds.filter(Boolean).length;
    if (count !== 1) {
      throw new ConfigurationError(
        `${where} (${registry}): give ${count === 0 ? '' : 'exactly one of: '}username + password, or token, or provider (${PROVIDERS.join(' | ')}).`,
        INPUT,
      );
    }
    if ((e.username === undefined) !== (e.password === undefined)) {
      throw new ConfigurationError(
        `${where} (${registry}): "${e.username === undefined ? 'password' : 'username'}" needs "${e.username === undefined ? 'username' : 'password'}" too.`,
        INPUT,
      );
    }
    const earlier = firstEntryOfHost.get(registry);
    if (earlier !== undefined) {
      throw new ConfigurationError(
        `${where}: ${registry} already has credentials in entry ${earlier}; give one entry per registry.`,
        INPUT,
      );
    }
    firstEntryOfHost.set(registry, n);
    entries.push({
      registry,
      ...(e.username !== undefined ? { username: e.username, password: e.password } : {}),
      ...(e.token !== undefined ? { token: e.token } : {}),
      ...(e.provider !== undefined ? { provider: e.provider } : {}),
    });
  });
  return entries;
}

/** Credentials belong to a whole host (that is how Docker configs key them): `ghcr.io`, not `ghcr.io/acme`. */
function checkedHost(value: string, where: string): string {
  const withoutScheme = value
    .trim()
    .replace(/^[a-z][a-z0-9+.-]*:\/\//i, '')
    .replace(/\/+$/, '');
  if (withoutScheme.includes('/')) {
    throw new ConfigurationError(
      `${where}: "registry" is ${withoutScheme}, but credentials apply to a whole host: write ${withoutScheme.split('/')[0]}`,
      INPUT,
    );
  }
  if (!/^[a-z0-9.-]+(:\d+)?$/i.test(withoutScheme)) {
    throw new ConfigurationError(
      `${where}: "registry" must be a host[:port], e.g. ghcr.io or localhost:5000`,
      INPUT,
    );
  }
  return normaliseRegistryHost(withoutScheme);
}
