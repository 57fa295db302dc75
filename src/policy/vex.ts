import { ConfigurationError, jsonSyntaxProblem } from '../errors.js';
import { tryParseImageReference } from '../targets/reference.js';
import { parsePurl, type IgnoreRule, type VexProduct, type VexImageSelector } from './ignore-rules.js';

// VEX documents (OpenVEX, CycloneDX VEX, CSAF VEX), read into the one ignore model (ignore-rules.ts): each statement
// that says a vulnerability is `not_affected` or `fixed` in a product becomes an IgnoreRule whose `products` scope
// names the images (by `pkg:oci` purl, repository or digest) and, narrower, the packages (by purl) it covers, with
// the statement's justification as the reason. `affected` and `under_investigation` statements suppress nothing and
// are dropped here. Pure: the text is parsed, never executed or fetched; anything a statement names that the action
// cannot identify (an IRI, an unknown product id) matches nothing, and the summary lists the statement as unused.
//
// Formats:
//   OpenVEX (v0.0.1 and v0.2.0): `statements[]` with `vulnerability` (`name`, `aliases`, or a string),
//     `products[]` (`@id`, `identifiers.purl`, `subcomponents[]`; v0.0.1 strings and statement-level
//     `subcomponents`), `status`, `justification`, `impact_statement`.
//   CycloneDX (1.4–1.6) `vulnerabilities[]` with `id`, `references[].id` (aliases), `analysis.state`
//     (`not_affected`/`false_positive` → not_affected, `resolved`/`resolved_with_pedigree` → fixed),
//     `analysis.justification`, `analysis.detail`, `affects[].ref` (a purl, a `bom-ref` of `components` or
//     `metadata.component`, or a BOM-Link `urn:cdx:…#bom-ref`). A `pkg:oci` metadata.component is the image the
//     document is about; other affected refs are its packages.
//   CSAF 2.0 (`document.category: csaf_vex`): `product_tree` (`branches` leaves, `full_product_names`, and
//     `relationships` whose `product_reference` is a component of `relates_to_product_reference`) with
//     `product_identification_helper.purl`; `vulnerabilities[]` with `cve`/`ids`, `product_status.known_not_affected`
//     (not_affected) and `fixed`/`first_fixed` (fixed), `flags[].label` (justification) and `threats[]` of category
//     `impact` (impact statement), each for its `product_ids`.

type VexFormat = 'OpenVEX' | 'CycloneDX' | 'CSAF';
type VexStatus = 'not_affected' | 'fixed';

/** The statements of one document that suppress findings, as ignore rules (`vex` set on each). */
export interface VexDocument {
  file: string;
  format: VexFormat;
  rules: IgnoreRule[];
}

type Json = Record<string, unknown>;

/** Parses one VEX document; a ConfigurationError naming `vex` and the file for malformed JSON or an unknown format. */
export function parseVexDocument(text: string, file: string): VexDocument {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ConfigurationError(
      `\`vex\`: ${JSON.stringify(file)} is not valid JSON (${jsonSyntaxProblem(e, text)}); give an OpenVEX, CycloneDX or CSAF VEX document.`,
      'vex',
    );
  }
  if (!isObject(raw)) throw notVex(file, 'the document is not a JSON object');
  if (typeof raw['@context'] === 'string' && raw['@context'].includes('openvex'))
    return { file, format: 'OpenVEX', rules: fromOpenVex(raw, file) };
  if (raw.bomFormat === 'CycloneDX') return { file, format: 'CycloneDX', rules: fromCycloneDx(raw, file) };
  if (isObject(raw.document) && typeof raw.document.csaf_version === 'string') {
    if (raw.document.category !== 'csaf_vex')
      throw notVex(file, `its CSAF category is ${JSON.stringify(raw.document.category)}, not "csaf_vex"`);
    return { file, format: 'CSAF', rules: fromCsaf(raw, file) };
  }
  throw notVex(
    file,
    'it is neither OpenVEX (an "@context" of openvex.dev), CycloneDX ("bomFormat": "CycloneDX") nor CSAF ("document.csaf_version")',
  );
}

function notVex(file: string, why: string): ConfigurationError {
  return new ConfigurationError(
    `\`vex\`: ${JSON.stringify(file)} is not a VEX document: ${why}. Give OpenVEX, CycloneDX VEX or CSAF VEX JSON.`,
    'vex',
  );
}

function malformed(file: string, where: string, what: string): ConfigurationError {
  return new ConfigurationError(`\`vex\`: ${JSON.stringify(file)} ${where}: expected ${what}.`, 'vex');
}

// ---- OpenVEX ------------------------------------------------------------------------------------------------

const OPENVEX_STATUS: Record<string, VexStatus | null> = {
  not_affected: 'not_affected',
  fixed: 'fixed',
  affected: null,
  under_investigation: null,
};

function fromOpenVex(doc: Json, file: string): IgnoreRule[] {
  const statements = doc.statements;
  if (!Array.isArray(statements)) throw malformed(file, 'has no "statements"', 'a list of statements');
  const rules: IgnoreRule[] = [];
  statements.forEach((s: unknown, i) => {
    const where = `statements[${i}]`;
    if (!isObject(s)) throw malformed(file, where, 'an object');
    if (typeof s.status !== 'string' || !(s.status in OPENVEX_STATUS))
      throw malformed(file, `${where}.status`, 'not_affected, affected, fixed or under_investigation');
    const status = OPENVEX_STATUS[s.status];
    const vuln = s.vulnerability;
    const id =
      typeof vuln === 'string' ? vuln : isObject(vuln) ? (str(vuln.name) ?? str(vuln['@id'])) : undefined;
    if (!id) throw malformed(file, `${where}.vulnerability`, 'a vulnerability name (e.g. "CVE-2023-44487")');
    if (!status) return;
    const aliases = isObject(vuln) && Array.isArray(vuln.aliases) ? vuln.aliases.filter(isString) : [];
    // v0.0.1 kept subcomponents on the statement; v0.2.0 keeps them per product.
    const statementPackages = stringIds(s.subcomponents);
    const products: VexProduct[] = [];
    for (const p of Array.isArray(s.products) ? (s.products as unknown[]) : []) {
      const productId =
        typeof p === 'string'
          ? p
          : isObject(p)
            ? ((isObject(p.identifiers) ? str(p.identifiers.purl) : undefined) ?? str(p['@id']))
            : undefined;
      const packages = [...statementPackages, ...(isObject(p) ? stringIds(p.subcomponents) : [])];
      products.push(productScope(productId, packages));
    }
    if (products.length === 0) throw malformed(file, `${where}.products`, 'at least one product');
    rules.push(
      vexRule({
        file,
        where,
        id,
        aliases,
        status,
        products,
        justification: str(s.justification),
        impact: str(s.impact_statement) ?? str(s.status_notes),
      }),
    );
  });
  return rules;
}

function stringIds(list: unknown): string[] {
  if (!Array.isArray(list)) return [];
  return list
    .map((c: unknown) =>
      typeof c === 'string'
        ? c
        : isObject(c)
          ? ((isObject(c.identifiers) ? str(c.identifiers.purl) : undefined) ?? str(c['@id']))
          : undefined,
    )
    .filter(isString);
}

// ---- CycloneDX ----------------------------------------------------------------------------------------------

const CYCLONEDX_STATE: Record<string, VexStatus | null> = {
  not_affected: 'not_affected',
  false_positive: 'not_affected',
  resolved: 'fixed',
  resolved_with_pedigree: 'fixed',
  exploitable: null,
  in_triage: null,
};

function fromCycloneDx(doc: Json, file: string): IgnoreRule[] {
  const vulns = doc.vulnerabilities;
  if (!Array.isArray(vulns)) throw malformed(file, 'has no "vulnerabilities"', 'a list of vulnerabilities');
  const purlOf = new Map<string, string>();
  const collect = (c: unknown) => {
    if (!isObject(c)) return;
    const ref = str(c['bom-ref']);
    const purl = str(c.purl);
    if (ref && purl) purlOf.set(ref, purl);
    if (Array.isArray(c.components)) c.components.forEach(collect);
  };
  const metadata = isObject(doc.metadata) ? doc.metadata : {};
  collect(metadata.component);
  if (Array.isArray(doc.components)) doc.components.forEach(collect);
  const subject = isObject(metadata.component) ? str(metadata.component.purl) : undefined;
  const subjectImage = subject?.startsWith('pkg:oci/') ? subject : undefined;

  const rules: IgnoreRule[] = [];
  vulns.forEach((v: unknown, i) => {
    const where = `vulnerabilities[${i}]`;
    if (!isObject(v)) throw malformed(file, where, 'an object');
    const id = str(v.id);
    if (!id) throw malformed(file, `${where}.id`, 'a vulnerability ID');
    const analysis = isObject(v.analysis) ? v.analysis : undefined;
    if (!analysis) return; // a vulnerability without analysis states nothing
    const state = analysis.state;
    if (typeof state !== 'string' || !(state in CYCLONEDX_STATE))
      throw malformed(
        file,
        `${where}.analysis.state`,
        'resolved, resolved_with_pedigree, exploitable, in_triage, false_positive or not_affected',
      );
    const status = CYCLONEDX_STATE[state];
    if (!status) return;
    const aliases = Array.isArray(v.references)
      ? v.references.map((r: unknown) => (isObject(r) ? str(r.id) : undefined)).filter(isString)
      : [];
    const products: VexProduct[] = [];
    for (const a of Array.isArray(v.affects) ? (v.affects as unknown[]) : []) {
      const ref = isObject(a) ? str(a.ref) : undefined;
      if (!ref) continue;
      const purl = ref.startsWith('pkg:') ? ref : purlOf.get(bomLinkFragment(ref));
      if (purl?.startsWith('pkg:oci/')) products.push(productScope(purl, []));
      else if (purl && subjectImage) products.push(productScope(subjectImage, [purl]));
      else products.push(productScope(purl, []));
    }
    if (products.length === 0) throw malformed(file, `${where}.affects`, 'at least one affected ref');
    rules.push(
      vexRule({
        file,
        where,
        id,
        aliases,
        status,
        products,
        justification: str(analysis.justification),
        impact: str(analysis.detail),
      }),
    );
  });
  return rules;
}

/** `urn:cdx:<serial>/<version>#<bom-ref>` → the bom-ref; anything else as it is. */
function bomLinkFragment(ref: string): string {
  if (!ref.startsWith('urn:cdx:')) return ref;
  const hash = ref.indexOf('#');
  if (hash < 0) return ref;
  try {
    return decodeURIComponent(ref.slice(hash + 1));
  } catch {
    return ref.slice(hash + 1);
  }
}

// ---- CSAF ---------------------------------------------------------------------------------------------------

const CSAF_STATUS: [string, VexStatus][] = [
  ['known_not_affected', 'not_affected'],
  ['fixed', 'fixed'],
  ['first_fixed', 'fixed'],
];

function fromCsaf(doc: Json, file: string): IgnoreRule[] {
  const tree = isObject(doc.product_tree) ? doc.product_tree : {};
  // product_id → purl, for leaves; → [component purl, product purl] for relationships.
  const purlOf = new Map<string, string>();
  const leaf = (p: unknown) => {
    if (!isObject(p)) return;
    const id = str(p.product_id);
    const helper = isObject(p.product_identification_helper) ? p.product_identification_helper : {};
    const purl = str(helper.purl) ?? (Array.isArray(helper.purls) ? helper.purls.find(isString) : undefined);
    if (id && purl) purlOf.set(id, purl);
  };
  const walk = (branches: unknown) => {
    if (!Array.isArray(branches)) return;
    for (const b of branches as unknown[]) {
      if (!isObject(b)) continue;
      leaf(b.product);
      walk(b.branches);
    }
  };
  walk(tree.branches);
  if (Array.isArray(tree.full_product_names)) tree.full_product_names.forEach(leaf);
  const composed = new Map<string, { component?: string; product?: string }>();
  for (const r of Array.isArray(tree.relationships) ? (tree.relationships as unknown[]) : []) {
    if (!isObject(r) || !isObject(r.full_product_name)) continue;
    const id = str(r.full_product_name.product_id);
    if (!id) continue;
    composed.set(id, {
      component: purlOf.get(str(r.product_reference) ?? ''),
      product: purlOf.get(str(r.relates_to_product_reference) ?? ''),
    });
  }
  const scopeOf = (productId: string): VexProduct => {
    const rel = composed.get(productId);
    if (rel) {
      if (rel.product === undefined || rel.component === undefined) return productScope(undefined, []);
      return productScope(rel.product, [rel.component]);
    }
    return productScope(purlOf.get(productId), []);
  };

  const vulns = doc.vulnerabilities;
  if (!Array.isArray(vulns)) throw malformed(file, 'has no "vulnerabilities"', 'a list of vulnerabilities');
  const rules: IgnoreRule[] = [];
  vulns.forEach((v: unknown, i) => {
    const where = `vulnerabilities[${i}]`;
    if (!isObject(v)) throw malformed(file, where, 'an object');
    const ids = Array.isArray(v.ids)
      ? v.ids.map((x: unknown) => (isObject(x) ? str(x.text) : undefined)).filter(isString)
      : [];
    const id = str(v.cve) ?? ids[0];
    if (!id) throw malformed(file, `${where}.cve`, 'a CVE or an entry in ids');
    const statusOf = isObject(v.product_status) ? v.product_status : {};
    const textFor = (list: unknown, key: 'label' | 'details', productId: string, category?: string) => {
      if (!Array.isArray(list)) return undefined;
      for (const entry of list as unknown[]) {
        if (!isObject(entry) || (category && entry.category !== category)) continue;
        const forIds = Array.isArray(entry.product_ids) ? entry.product_ids : [];
        if (forIds.includes(productId)) return str(entry[key]);
      }
      return undefined;
    };
    for (const [field, status] of CSAF_STATUS) {
      const productIds = Array.isArray(statusOf[field]) ? statusOf[field].filter(isString) : [];
      // One rule per product: flags and threats (the justification) are given per product.
      for (const productId of productIds) {
        rules.push(
          vexRule({
            file,
            where: `${where}.product_status.${field} ${productId}`,
            id,
            aliases: ids.filter((x) => x !== id),
            status,
            products: [scopeOf(productId)],
            justification: textFor(v.flags, 'label', productId),
            impact: textFor(v.threats, 'details', productId, 'impact'),
          }),
        );
      }
    }
  });
  return rules;
}

// ---- common -------------------------------------------------------------------------------------------------

/**
 * A product named by a VEX document → the images and packages it covers. A `pkg:oci` purl (or an image reference,
 * or a bare `sha256:` digest) is the image, narrowed to `packages` when given; any other purl is a package in every
 * image. Anything else (an IRI, an unknown id) matches nothing.
 */
function productScope(productId: string | undefined, packages: string[]): VexProduct {
  const narrowed = packages.length ? { packages } : {};
  if (!productId) return { unmatchable: true };
  if (productId.startsWith('pkg:')) {
    const purl = parsePurl(productId);
    if (!purl) return { unmatchable: true };
    if (purl.type !== 'oci') return { packages: [productId, ...packages] };
    const image: VexImageSelector = { name: purl.name };
    if (purl.version) image.digest = purl.version.toLowerCase();
    const repositoryUrl = purl.qualifiers.get('repository_url');
    if (repositoryUrl) {
      const parsed = tryParseImageReference(repositoryUrl);
      if (!parsed.ok) return { unmatchable: true };
      image.repository = `${parsed.value.registry}/${parsed.value.repository}`;
    }
    const tag = purl.qualifiers.get('tag');
    if (tag) image.tag = tag;
    return { image, ...narrowed };
  }
  if (/^sha256:[0-9a-f]{64}$/i.test(productId))
    return { image: { digest: productId.toLowerCase() }, ...narrowed };
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(productId)) return { unmatchable: true };
  const parsed = tryParseImageReference(productId);
  if (!parsed.ok) return { unmatchable: true };
  const { registry, repository, tag, digest } = parsed.value;
  const image: VexImageSelector = { repository: `${registry}/${repository}` };
  // The parser fills in `latest` when no tag is written: a repository alone covers every tag.
  if (tag && productId.replace(/@.*$/, '').endsWith(`:${tag}`)) image.tag = tag;
  if (digest) image.digest = digest.toLowerCase();
  return { image, ...narrowed };
}

function vexRule(s: {
  file: string;
  where: string;
  id: string;
  aliases: string[];
  status: VexStatus;
  products: VexProduct[];
  justification?: string;
  impact?: string;
}): IgnoreRule {
  // `not_affected (vulnerable_code_not_present): the parser is not used` — shown like an ignore's reason.
  const reason = `${s.status}${s.justification ? ` (${s.justification})` : ''}${s.impact ? `: ${s.impact}` : ''}`;
  return {
    id: s.id,
    ...(s.aliases.length && { aliases: s.aliases }),
    products: s.products,
    classes: ['os-pkgs', 'lang-pkgs'],
    reason,
    source: `${s.file} ${s.where}`,
    vex: s.status,
  };
}

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isString(v: unknown): v is string {
  return typeof v === 'string' && v.trim() !== '';
}

function str(v: unknown): string | undefined {
  return isString(v) ? v.trim() : undefined;
}
