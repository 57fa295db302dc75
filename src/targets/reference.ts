import { parseFamiliarName } from '@swimlane/docker-reference';
import { ConfigurationError } from '../errors.js';

// Image references, normalised the way Docker does it (Go's distribution/reference ParseNormalizedNamed): the
// first path part is a host only if it has a `.` or `:` or is `localhost`, otherwise docker.io; a one-part
// Docker Hub name gets `library/`; `latest` when neither tag nor digest is given. Pure.

export const DOCKER_HUB = 'docker.io';

export interface ImageReference {
  /** `registry/repository[:tag][@digest]`, e.g. docker.io/library/alpine:3.19. */
  ref: string;
  registry: string;
  repository: string;
  tag?: string;
  digest?: string;
}

export type ReferenceParse = { ok: true; value: ImageReference } | { ok: false; reason: string };

/** Parses without throwing; `reason` says why a reference is refused, in words a user can act on. */
export function tryParseImageReference(input: string): ReferenceParse {
  const text = input.trim();
  const obvious = obviousMistake(text);
  if (obvious) return { ok: false, reason: obvious };
  let parsed;
  try {
    parsed = parseFamiliarName(text);
  } catch (e) {
    return { ok: false, reason: explain(e instanceof Error ? e.message : String(e)) };
  }
  // Host names are case-insensitive; one spelling keeps deduplication and credential lookup simple.
  const registry = (parsed.domain ?? '').toLowerCase();
  const repository = parsed.repository ?? '';
  if (!registry || !repository) return { ok: false, reason: 'it names no repository' };
  const digest = parsed.digest;
  const tag = parsed.tag ?? (digest ? undefined : 'latest');
  return {
    ok: true,
    value: { ref: formatRef(registry, repository, tag, digest), registry, repository, tag, digest },
  };
}

/**
 * Parses and normalises one reference; a bad one is a ConfigurationError naming where it came from (`images`,
 * a file and line) and why: `images: "Alpine:3" is not a valid image reference (repository names must be lower-case)`.
 */
export function parseImageReference(input: string, where = 'images'): ImageReference {
  const result = tryParseImageReference(input);
  if (!result.ok)
    throw new ConfigurationError(invalidReferenceMessage(input, result.reason, where), 'images');
  return result.value;
}

function invalidReferenceMessage(input: string, reason: string, where = 'images'): string {
  return `${where}: "${input.trim()}" is not a valid image reference (${reason})`;
}

export function formatRef(registry: string, repository: string, tag?: string, digest?: string): string {
  return `${registry}/${repository}${tag ? `:${tag}` : ''}${digest ? `@${digest}` : ''}`;
}

/** The short form people write: `alpine:3.19` for docker.io/library/alpine:3.19, `acme/api:1` for Docker Hub users. */
export function displayRef(target: { ref: string }): string {
  if (target.ref.startsWith(`${DOCKER_HUB}/library/`))
    return target.ref.slice(`${DOCKER_HUB}/library/`.length);
  if (target.ref.startsWith(`${DOCKER_HUB}/`)) return target.ref.slice(`${DOCKER_HUB}/`.length);
  return target.ref;
}

/** Two written references name the same image when they normalise to the same ref (`alpine` = `docker.io/library/alpine:latest`). */
export function sameImage(a: string, b: string): boolean {
  const pa = tryParseImageReference(a);
  const pb = tryParseImageReference(b);
  return pa.ok && pb.ok && pa.value.ref === pb.value.ref;
}

/**
 * One spelling per registry host, for credentials and the Docker config: lower-case, no scheme, no path, and
 * Docker Hub's aliases folded into docker.io.
 */
export function normaliseRegistryHost(value: string): string {
  const host = value
    .trim()
    .replace(/^[a-z][a-z0-9+.-]*:\/\//i, '')
    .split('/')[0]
    .toLowerCase();
  return DOCKER_HUB_ALIASES.has(host) ? DOCKER_HUB : host;
}

const DOCKER_HUB_ALIASES = new Set([
  'docker.io',
  'index.docker.io',
  'registry-1.docker.io',
  'registry.hub.docker.com',
]);

function obviousMistake(text: string): string | undefined {
  if (text === '') return 'it is empty';
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) return 'remove the URL scheme: write host/repository:tag';
  if (/\s/.test(text)) return 'it contains whitespace';
  if (/^[a-f0-9]{64}$/.test(text))
    return 'a bare image ID is not a reference: write repository@sha256:<digest>';
  // Length limits first: they are the rules, and they keep the library's regular expressions off long input.
  if (text.length > 1024) return 'it is longer than 1024 characters';
  const at = text.lastIndexOf('@');
  const name = at >= 0 ? text.slice(0, at) : text;
  const colon = name.lastIndexOf(':');
  if (colon > name.lastIndexOf('/') && name.length - colon - 1 > 128)
    return 'tags are at most 128 characters';
  if (at >= 0) {
    const digest = text.slice(at + 1);
    const algorithm = /^([A-Za-z0-9+._-]+):/.exec(digest)?.[1];
    if (algorithm && !/^sha(256|384|512)$/.test(algorithm))
      return 'unsupported digest algorithm: use sha256:<64 hex digits>';
    if (!/^sha256:[a-f0-9]{64}$|^sha384:[a-f0-9]{96}$|^sha512:[a-f0-9]{128}$/.test(digest)) {
      return 'malformed digest: expected sha256:<64 hex digits>';
    }
  }
  return undefined;
}

function explain(message: string): string {
  if (/lowercase/i.test(message)) return 'repository names must be lower-case';
  if (/unsupported digest algorithm/i.test(message))
    return 'unsupported digest algorithm: use sha256:<64 hex digits>';
  if (/digest/i.test(message)) return 'malformed digest: expected sha256:<64 hex digits>';
  if (/more than \d+ characters/i.test(message)) return 'the repository name is longer than 255 characters';
  if (/at least one component/i.test(message)) return 'it names no repository';
  if (/64-byte hexadecimal/i.test(message)) return 'a repository name cannot be a 64-character hex string';
  return 'expected [host[:port]/]repository[:tag][@sha256:digest]; tags are at most 128 of [A-Za-z0-9_.-]';
}
