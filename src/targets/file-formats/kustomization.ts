import path from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node } from 'yaml';
import type { Origin } from '../../model.js';

// A Kustomize `kustomization.yaml` (or `.yml`, or `Kustomization`): the resources it builds from and the `images:`
// overrides its image transformer applies to them (`name` matched against an image's name without tag or digest;
// `newName` replaces the name, `digest` pins it, else `newTag` replaces the tag). Pure.

export const KUSTOMIZATION_FILE_NAMES = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'] as const;

export function isKustomizationPath(relativePath: string): boolean {
  return (KUSTOMIZATION_FILE_NAMES as readonly string[]).includes(path.posix.basename(relativePath));
}

export interface ImageOverride {
  name: string;
  newName?: string;
  newTag?: string;
  digest?: string;
  /** Where the override is written (`images[i]` of the kustomization). */
  origin: Origin;
}

interface KustomizationEntry {
  /** As written: a file, a directory holding a kustomization, or a remote base. */
  path: string;
  origin: Origin;
}

export type ParsedKustomization =
  { resources: KustomizationEntry[]; images: ImageOverride[] } | { skipped: string; line?: number };

export function parseKustomization(text: string, file: string): ParsedKustomization {
  const lines = new LineCounter();
  // The failsafe schema keeps every scalar a string: `newTag: 1.10` is the tag "1.10", not the number 1.1.
  const doc = parseDocument(text, { lineCounter: lines, schema: 'failsafe', prettyErrors: false });
  const bad = doc.errors[0];
  if (bad) {
    const at = lines.linePos(bad.pos[0]);
    return { skipped: `not valid YAML (line ${at.line}, column ${at.col}: ${bad.code})`, line: at.line };
  }
  const originOf = (node: Node | null | undefined): Origin => {
    const at = lines.linePos(node?.range?.[0] ?? 0);
    return { file, line: at.line, column: at.col };
  };
  const root = doc.contents;
  const resources: KustomizationEntry[] = [];
  const images: ImageOverride[] = [];
  if (!isMap(root)) return { resources, images };
  // `bases` is the deprecated spelling of `resources`; components are read the same way.
  for (const key of ['resources', 'bases', 'components']) {
    const list = root.get(key, true);
    if (!isSeq(list)) continue;
    for (const item of list.items) {
      if (isScalar(item) && typeof item.value === 'string' && item.value.trim() !== '') {
        resources.push({ path: item.value.trim(), origin: originOf(item) });
      }
    }
  }
  const list = root.get('images', true);
  if (isSeq(list)) {
    for (const item of list.items) {
      if (!isMap(item)) continue;
      const field = (key: string) => {
        const v = item.get(key, true);
        return isScalar(v) && typeof v.value === 'string' && v.value.trim() !== ''
          ? v.value.trim()
          : undefined;
      };
      const name = field('name');
      if (!name) continue;
      const newName = field('newName');
      const newTag = field('newTag');
      const digest = field('digest');
      images.push({
        name,
        ...(newName ? { newName } : {}),
        ...(newTag ? { newTag } : {}),
        ...(digest ? { digest } : {}),
        origin: originOf(item),
      });
    }
  }
  return { resources, images };
}

/** A remote base (a URL, `git@…`, `github.com/…`, `?ref=`): Kustomize would fetch it; the action does not. */
export function isRemoteResource(entry: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\/|^git@|^(github\.com|gitlab\.com|bitbucket\.org)\/|[?&]ref=/i.test(entry);
}

/** The override that applies to an image, and the image it yields, as Kustomize's image transformer does. */
export function applyImageOverride(
  image: string,
  overrides: readonly ImageOverride[],
): { image: string; override?: ImageOverride } {
  const { name, tag, digest } = splitImage(image);
  const override = overrides.find((o) => o.name === name);
  if (!override) return { image };
  const newName = override.newName ?? name;
  if (override.digest) return { image: `${newName}@${override.digest}`, override };
  if (override.newTag) return { image: `${newName}:${override.newTag}`, override };
  return { image: `${newName}${tag ? `:${tag}` : ''}${digest ? `@${digest}` : ''}`, override };
}

/** What an override did, for the summary: `newTag: 2.0 (overlays/prod/kustomization.yaml:7)`. */
export function describeOverride(o: ImageOverride): string {
  const changes = [
    o.newName ? `newName: ${o.newName}` : undefined,
    o.digest ? `digest: ${o.digest}` : o.newTag ? `newTag: ${o.newTag}` : undefined,
  ].filter(Boolean);
  return `Kustomize images override of ${o.name} (${changes.join(', ') || 'no change'}) at ${o.origin.file}:${o.origin.line}`;
}

function splitImage(image: string): { name: string; tag?: string; digest?: string } {
  const at = image.indexOf('@');
  const digest = at >= 0 ? image.slice(at + 1) : undefined;
  const rest = at >= 0 ? image.slice(0, at) : image;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/'))
    return { name: rest.slice(0, colon), tag: rest.slice(colon + 1), digest };
  return { name: rest, digest };
}
