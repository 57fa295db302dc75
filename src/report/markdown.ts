import type { GateMode } from '../config.js';
import { SEVERITY_RANK, type Severity, type SeverityCounts } from '../model.js';
import { plural } from '../infra/wording.js';

// Markdown building blocks shared by the job summary and the PR comment. Everything that comes from an image,
// a registry or Trivy is untrusted text: it goes through one of these helpers so that a `|`, a newline, a
// backtick or an HTML tag in a package name or an error message cannot break a table or inject markup, and an
// `@name` or `@org/team` in it cannot notify anyone. One helper per sink: escapeText (markdown text and table
// cells), escapeHtml (raw HTML such as `<summary>`), codeSpan and codeBlock (GitHub links no mentions in code).

const SEVERITY_EMOJI: Record<Severity, string> = {
  CRITICAL: '🔴',
  HIGH: '🟠',
  MEDIUM: '🟡',
  LOW: '🔵',
  UNKNOWN: '⚪',
};

/** Characters with a meaning in inline markdown (and `|`, which ends a table cell). */
const INLINE_SPECIAL = /[\\`*_[\]<>|~&#!]/g;

/**
 * Plain text made safe anywhere in a markdown line, table cells included: markdown punctuation is
 * backslash-escaped (CommonMark allows it for any ASCII punctuation; GFM tables read `\|` as a literal pipe)
 * and line breaks become spaces.
 */
export function escapeText(text: string): string {
  return breakAutolinks(breakMentions(oneLine(text).replace(INLINE_SPECIAL, (c) => `\\${c}`)));
}

/** Text for raw HTML contexts such as `<summary>`, where markdown escapes are not processed. */
export function escapeHtml(text: string): string {
  const escaped = oneLine(text)
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;');
  return breakAutolinks(breakMentions(escaped));
}

/**
 * GitHub links (and notifies) `@user` and `@org/team` where an `@` is directly followed by a name character. A
 * zero-width space after the `@` (as Dependabot and Renovate write it) renders as `@name` but links nobody; the
 * entity form keeps it visible in the raw markdown. Code spans and blocks need nothing: GitHub links no mentions
 * there.
 */
function breakMentions(text: string): string {
  return text.replace(/@(?=[A-Za-z0-9])/g, '@&#8203;');
}

/**
 * GitHub also links bare URLs (`https://…`, `www.…`) and issue references (`#123`, `owner/repo#123`, `GH-123`) in
 * text: from a package's title or a registry's error that is a link the reader did not ask for, or a cross-reference
 * written into someone's issue timeline. The same zero-width space keeps the text as it reads and links nothing.
 */
function breakAutolinks(text: string): string {
  return text
    .replace(/\b(https?|ftp)(?=:\/\/)/gi, '$1&#8203;')
    .replace(/\bwww\./gi, (w) => `${w.slice(0, 3)}&#8203;.`)
    .replace(/(?<!&)#(?=\d)/g, '#&#8203;')
    .replace(/\b(GH)-(?=\d)/gi, '$1&#8203;-');
}

function oneLine(text: string): string {
  return text.replace(/\s*[\r\n]+\s*/g, ' ');
}

/**
 * A code span that survives any content: the fence is longer than the longest run of backticks inside. In a
 * table cell a `|` must still be escaped (GFM splits cells before it parses code spans), hence `inTable`.
 */
export function codeSpan(text: string, opts: { inTable?: boolean } = {}): string {
  let body = oneLine(text);
  if (opts.inTable) body = body.replaceAll('|', '\\|');
  const longestRun = Math.max(0, ...(body.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(longestRun + 1);
  const pad = body.startsWith('`') || body.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${body}${pad}${fence}`;
}

/** A fenced code block (for Trivy's error text), its fence longer than any backtick run in the content. */
export function codeBlock(text: string): string {
  const longestRun = Math.max(0, ...(text.match(/`{3,}/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(Math.max(3, longestRun + 1));
  return `${fence}text\n${text.replace(/\r\n?/g, '\n').replace(/\n+$/, '')}\n${fence}`;
}

/** Only web links are rendered as links; anything else (javascript:, data:, relative) stays plain text. */
export function safeUrl(url: string | undefined): string | undefined {
  if (!url) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(url.trim());
  } catch {
    return undefined;
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') return undefined;
  // Characters that would end the link destination or, in a table, the cell.
  return parsed.href.replace(
    /[()<>|\s]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`,
  );
}

/** `[text](url)` with the text escaped; just the escaped text when the URL is missing or not a web link. */
export function link(text: string, url: string | undefined): string {
  const href = safeUrl(url);
  return href ? `[${escapeText(text)}](${href})` : escapeText(text);
}

export function severityEmoji(severity: Severity): string {
  return SEVERITY_EMOJI[severity];
}

/** `🔴 CRITICAL` */
export function severityBadge(severity: Severity): string {
  return `${SEVERITY_EMOJI[severity]} ${severity}`;
}

/** One table row; cells must already be escaped markdown (escapeText, link, codeSpan with inTable). */
export function tableRow(cells: readonly string[]): string {
  return `| ${cells.map((c) => (c === '' ? ' ' : c)).join(' | ')} |`;
}

/** Header row and delimiter row; `align` per column: 'l' (default) or 'r'. */
export function tableHeader(headers: readonly string[], align: readonly ('l' | 'r')[] = []): string {
  const delimiter = headers.map((_, i) => (align[i] === 'r' ? '---:' : '---'));
  return `${tableRow(headers)}\n${tableRow(delimiter)}`;
}

/** Shortens to at most `max` code points, ending with `…`, without splitting a surrogate pair. */
export function truncate(text: string, max: number): string {
  const points = Array.from(text);
  if (points.length <= max) return text;
  return `${points.slice(0, Math.max(0, max - 1)).join('')}…`;
}

/** Markdown/GitHub size measures: the step summary limit is in UTF-8 bytes, the comment limit in characters. */
export function utf8Bytes(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/** `sha256:0123456789ab` — enough to tell digests apart at a glance. */
export function shortDigest(digest: string | undefined): string {
  if (!digest) return '';
  const [algorithm, hex] = digest.includes(':') ? digest.split(':', 2) : ['sha256', digest];
  return `${algorithm}:${hex.slice(0, 12)}`;
}

/** `5 h ago`, `3 days ago`; for "DB updated … ago". */
export function formatAge(from: Date, now: Date): string {
  const minutes = Math.floor((now.getTime() - from.getTime()) / 60_000);
  if (minutes < 1) return 'just now';
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h ago`;
  return `${Math.floor(hours / 24)} days ago`;
}

/** `1 critical, 3 high` — only non-zero severities, worst first; `no findings` when all are zero. */
export function describeCounts(counts: SeverityCounts): string {
  const parts = (Object.keys(SEVERITY_RANK) as Severity[])
    .sort((a, b) => SEVERITY_RANK[b] - SEVERITY_RANK[a])
    .filter((s) => counts[s] > 0)
    .map((s) => `${counts[s]} ${s.toLowerCase()}`);
  return parts.length ? parts.join(', ') : 'no findings';
}

// One home for counted nouns, below every stage that prints them; re-exported for the renderers.
export { plural };

// ---- Pieces the summary and the comment share, so both say the same thing the same way. ----

/** `✅` / `❌` / `⚠️` for the run's verdict (no verdict: the gate was not evaluated). */
function verdictEmoji(result: 'pass' | 'fail' | 'warn' | undefined): string {
  return result === 'fail' ? '❌' : result === 'warn' ? '⚠️' : result === 'pass' ? '✅' : 'ℹ️';
}

export interface VerdictHeadline {
  /** `❌ Image Scan Gate: fail`, `ℹ️ Image Scan Gate: not gated (the policy fails)`. */
  title: string;
  /** What the result means for the step, when that is not obvious from the title. */
  explanation?: string;
}

/**
 * The headline the summary, the comment and the log share. It says what happened: `gate: off` is "not gated"
 * whatever the policy says (never a ✅ above a list of violations), `gate: warn` says the policy is violated, and
 * a `warn` from images that could not be scanned says that, not that the gate is set to warn.
 */
export function verdictHeadline(
  result: 'pass' | 'fail' | 'warn' | undefined,
  gate: GateMode,
  facts: { violations: number; scanFailed: number },
): VerdictHeadline {
  if (!result) return { title: `${verdictEmoji(undefined)} Image Scan Gate: no verdict` };
  if (gate === 'off') {
    const outcome =
      result === 'pass'
        ? 'the policy passes'
        : result === 'fail'
          ? `the policy fails (${plural(facts.violations, 'violation')})`
          : 'images were not checked';
    return {
      title: `ℹ️ Image Scan Gate: not gated (${outcome})`,
      explanation:
        result === 'pass'
          ? 'The gate is off (`gate: off`): nothing here can fail the step.'
          : 'The gate is off (`gate: off`): what the policy found is listed below, but the step does not fail.',
    };
  }
  const title = `${verdictEmoji(result)} Image Scan Gate: ${result}`;
  if (result !== 'warn') return { title };
  if (facts.violations > 0) {
    return {
      title,
      explanation: 'The gate is set to `warn`: the policy is violated, but the step does not fail.',
    };
  }
  return {
    title,
    explanation:
      `${plural(facts.scanFailed, 'image')} could not be scanned and the policy says \`scan-errors: warn\`: ` +
      'the step does not fail, but those images were not checked.',
  };
}

/** `1.1.1k → 1.1.1w`, or `1.1.1k → no fix yet`. */
export function installedToFixed(installed: string | undefined, fixed: string | undefined): string {
  const to = (fixed ?? '').trim() ? escapeText(fixed!.trim()) : '_no fix yet_';
  return `${escapeText(installed ?? '?')} → ${to}`;
}

/** `9.8 (nvd)`, or empty when Trivy gave no score. */
export function cvssText(score: number | undefined, source: string | undefined): string {
  if (score === undefined) return '';
  return source ? `${score.toFixed(1)} (${escapeText(source)})` : score.toFixed(1);
}
