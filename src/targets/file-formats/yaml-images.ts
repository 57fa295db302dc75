import {
  isAlias,
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  parseAllDocuments,
  type Document,
  type Node,
  type YAMLMap,
} from 'yaml';
import type { Origin } from '../../model.js';
import type { FileFindings } from './found-reference.js';
import { substituteVariables } from './variables.js';

// `image:` values in YAML files, with the line and column of the value: Compose (`services.*.image`),
// Kubernetes (any `image` of an entry in a `containers` / `initContainers` / `ephemeralContainers` list, at any
// depth, so Deployments, CronJobs and CRDs alike), and GitHub workflows (`jobs.*.container`,
// `jobs.*.services.*.image`, `uses: docker://...`). Pure.

const CONTAINER_LISTS = new Set(['containers', 'initContainers', 'ephemeralContainers']);

/** `.github/workflows/*.yml` (at the workspace root or below). */
export function isWorkflowPath(relativePath: string): boolean {
  return /(^|\/)\.github\/workflows\/[^/]+\.ya?ml$/i.test(relativePath);
}

export function isYamlPath(relativePath: string): boolean {
  return /\.ya?ml$/i.test(relativePath);
}

export function isJsonPath(relativePath: string): boolean {
  return /\.json$/i.test(relativePath);
}

export interface ManifestOptions {
  /** Variables of the `.env` file beside a Compose file: Compose interpolates `${VAR}` in it from them. */
  composeEnv?: ReadonlyMap<string, string>;
  /** A `.json` file: only Kubernetes objects (`apiVersion` and `kind`, `kind: List` too) are read from it. */
  json?: boolean;
}

type Parsed =
  { docs: Document.Parsed[]; lines: LineCounter } | { skipped: NonNullable<FileFindings['skipped']> };

function parseYaml(text: string): Parsed {
  const lines = new LineCounter();
  const docs = [...parseAllDocuments(text, { lineCounter: lines, prettyErrors: false })];
  const bad = docs.flatMap((d) => d.errors)[0];
  if (bad) {
    const at = lines.linePos(bad.pos[0]);
    // The error's own message quotes the source; keep only the code and position (files may hold secrets).
    return {
      skipped: {
        reason: `not valid YAML (line ${at.line}, column ${at.col}: ${bad.code})`,
        level: 'warning',
        line: at.line,
      },
    };
  }
  return { docs, lines };
}

/** Compose files and Kubernetes manifests (YAML that is not a workflow; Kubernetes objects in JSON). */
export function parseManifestImages(text: string, file: string, options: ManifestOptions = {}): FileFindings {
  const findings: FileFindings = { found: [], unresolved: [] };
  if (!/\bimage["']?\s*:/.test(text)) return findings;
  const parsed = parseYaml(text);
  if ('skipped' in parsed) {
    const template = /(^|[^$])\{\{/.test(text);
    return {
      ...findings,
      skipped: template
        ? {
            ...parsed.skipped,
            reason: `${parsed.skipped.reason}: a template; scan the rendered output instead`,
          }
        : parsed.skipped,
    };
  }
  const env = options.composeEnv ?? new Map<string, string>();
  const noEnv = new Map<string, string>();
  const images: { value: string; node: Node; env: ReadonlyMap<string, string> }[] = [];
  const add = (doc: Document, node: unknown, vars: ReadonlyMap<string, string>) => {
    const scalar = scalarString(doc, node);
    if (scalar) images.push({ ...scalar, env: vars });
    // `image: {{ .Values.image }}` unquoted is valid YAML: a flow mapping. It is a template all the same.
    else if (isMap(node) && node.range && text.startsWith('{{', node.range[0])) {
      images.push({ value: '{{', node: node, env: vars });
    }
  };
  for (const doc of parsed.docs) {
    const root = doc.contents;
    if (
      options.json &&
      !(isMap(root) && mapValueNode(doc, root, 'apiVersion') && mapValueNode(doc, root, 'kind'))
    ) {
      continue;
    }
    if (isMap(root) && !options.json) {
      const services = mapValue(doc, root, 'services');
      if (isMap(services)) {
        for (const pair of services.items) {
          const service = resolve(doc, pair.value);
          if (!isMap(service)) continue;
          const image = mapValueNode(doc, service, 'image');
          // With `build:`, `image:` names what Compose builds locally: not something a registry can serve.
          if (mapValueNode(doc, service, 'build') !== undefined) {
            const built = scalarString(doc, image);
            if (built) {
              findings.unresolved.push({
                text: built.value,
                reason: 'built by Compose from `build:`, not pulled from a registry',
                origin: originOf(built.node, file, parsed.lines),
              });
            }
          } else add(doc, image, env);
        }
      }
    }
    walkContainerLists(doc, root, (node) => add(doc, node, noEnv));
  }
  for (const { value: text, node, env: vars } of images) {
    const origin = originOf(node, file, parsed.lines);
    // A template (Helm, Go templates) is not an image until rendered: the file is skipped, said where.
    if (/(^|[^$])\{\{/.test(text)) {
      return {
        found: [],
        unresolved: [],
        skipped: {
          reason: `the image on line ${origin.line} is a template ({{ ... }}); scan the rendered output instead`,
          level: 'warning',
          line: origin.line,
        },
      };
    }
    // Compose interpolation (and envsubst-style manifests): the `.env` values and defaults are used; a variable
    // with neither is unknown.
    const s = substituteVariables(text, (name) => vars.get(name), { dollarDollar: true });
    if (s.ok)
      findings.found.push({ image: s.value.trim(), origin, ...(s.value !== text ? { written: text } : {}) });
    else findings.unresolved.push({ text, reason: `${s.reason} (set at deploy time)`, origin });
  }
  return findings;
}

/** GitHub workflow files. `${{ ... }}` expressions are only known at run time: reported as unresolved. */
export function parseWorkflowImages(text: string, file: string): FileFindings {
  const findings: FileFindings = { found: [], unresolved: [] };
  const parsed = parseYaml(text);
  if ('skipped' in parsed) return { ...findings, skipped: parsed.skipped };
  for (const doc of parsed.docs) {
    const record = (node: unknown, prefix = '') =>
      recordWorkflowImage(findings, node, file, parsed.lines, prefix);
    const root = doc.contents;
    const jobs = isMap(root) ? mapValue(doc, root, 'jobs') : undefined;
    if (!isMap(jobs)) continue;
    for (const jobPair of jobs.items) {
      const job = resolve(doc, jobPair.value);
      if (!isMap(job)) continue;
      const container = mapValueNode(doc, job, 'container');
      const containerValue = resolve(doc, container);
      if (isMap(containerValue)) record(mapValueNode(doc, containerValue, 'image'));
      else record(container);
      const services = mapValue(doc, job, 'services');
      if (isMap(services)) {
        for (const servicePair of services.items) {
          const service = resolve(doc, servicePair.value);
          if (isMap(service)) record(mapValueNode(doc, service, 'image'));
        }
      }
      const steps = mapValue(doc, job, 'steps');
      if (isSeq(steps)) {
        for (const step of steps.items) {
          const s = resolve(doc, step);
          if (!isMap(s)) continue;
          const uses = mapValueNode(doc, s, 'uses');
          if (isScalar(uses) && typeof uses.value === 'string' && uses.value.startsWith('docker://')) {
            record(uses, 'docker://');
          }
        }
      }
    }
  }
  return findings;
}

function recordWorkflowImage(
  findings: FileFindings,
  node: unknown,
  file: string,
  lines: LineCounter,
  prefix: string,
) {
  if (!isScalar(node) || typeof node.value !== 'string' || node.value.trim() === '') return;
  const origin = originOf(node, file, lines, prefix.length);
  const value = node.value.slice(prefix.length).trim();
  if (value.includes('${{')) {
    findings.unresolved.push({
      text: value,
      reason: 'a GitHub Actions expression, known only when the workflow runs',
      origin,
    });
  } else {
    findings.found.push({ image: value, origin });
  }
}

/** Any `image` in an entry of a `containers`-like list, at any depth (Pods, Deployments, CronJobs, CRDs). */
function walkContainerLists(doc: Document, node: unknown, record: (node: unknown) => void, depth = 0): void {
  if (depth > 100) return;
  if (isMap(node)) {
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? pair.key.value : undefined;
      if (typeof key === 'string' && CONTAINER_LISTS.has(key) && isSeq(pair.value)) {
        for (const item of pair.value.items) {
          const container = resolve(doc, item);
          if (isMap(container)) record(mapValueNode(doc, container, 'image'));
        }
      }
      walkContainerLists(doc, pair.value, record, depth + 1);
    }
  } else if (isSeq(node)) {
    for (const item of node.items) walkContainerLists(doc, item, record, depth + 1);
  }
}

function resolve(doc: Document, node: unknown): unknown {
  return isAlias(node) ? node.resolve(doc) : node;
}

/** The value node of `key` in a map, looking through `<<: *anchor` merges (common in Compose files). */
function mapValueNode(doc: Document, map: YAMLMap, key: string, depth = 0): unknown {
  for (const pair of map.items) {
    if (isPair(pair) && isScalar(pair.key) && pair.key.value === key) return pair.value;
  }
  if (depth > 10) return undefined;
  for (const pair of map.items) {
    if (!isScalar(pair.key) || pair.key.value !== '<<') continue;
    const sources = isSeq(pair.value) ? pair.value.items : [pair.value];
    for (const source of sources) {
      const merged = resolve(doc, source);
      if (isMap(merged)) {
        const found = mapValueNode(doc, merged, key, depth + 1);
        if (found !== undefined) return found;
      }
    }
  }
  return undefined;
}

function mapValue(doc: Document, map: YAMLMap, key: string): unknown {
  return resolve(doc, mapValueNode(doc, map, key));
}

/** A string scalar, through an alias; the position is the alias's own when it is one (where the file uses it). */
function scalarString(doc: Document, node: unknown): { value: string; node: Node } | undefined {
  const target = resolve(doc, node);
  if (!isScalar(target) || typeof target.value !== 'string' || target.value.trim() === '') return undefined;
  return { value: target.value, node: (isAlias(node) ? node : target) as Node };
}

function originOf(node: Node, file: string, lines: LineCounter, skip = 0): Origin {
  const start = node.range?.[0] ?? 0;
  const quoted = isScalar(node) && (node.type === 'QUOTE_DOUBLE' || node.type === 'QUOTE_SINGLE');
  const at = lines.linePos(start + (quoted ? 1 : 0) + skip);
  return { file, line: at.line, column: at.col };
}
