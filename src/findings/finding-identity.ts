import crypto from 'node:crypto';
import type { Finding, Target } from '../model.js';

// One identity for a finding across runs, used wherever two runs are compared: SARIF's partial fingerprint (so
// GitHub keeps one alert open across re-tags and rebuilds) and the baseline delta (new / fixed / unchanged).

/**
 * Identity of an alert across runs: the repository (never the tag, digest or installed version, so re-tagging or
 * rebuilding keeps the alert), the finding's kind and id, the package, and where in the image it lives when that is
 * not the OS package database (a lockfile, a misconfigured file). Trivy's Target for OS packages names the tag and
 * distribution version ("alpine:3.19 (alpine 3.19.1)"), so it is left out for them.
 */
export function findingFingerprint(
  target: Pick<Target, 'registry' | 'repository'>,
  f: Pick<Finding, 'class' | 'id' | 'pkg' | 'pkgPath' | 'target'>,
): string {
  const where = f.class === 'os-pkgs' ? '' : f.class === 'lang-pkgs' ? (f.pkgPath ?? f.target) : f.target;
  return sha256Hex(
    `${target.registry}/${target.repository}\u0000${f.class}\u0000${f.id}\u0000${f.pkg}\u0000${where}`,
  );
}

/**
 * A finding of one image within one run: the image's ref, the finding's ID and its package. Ignores are applied
 * and looked up by it (policy, summary, SARIF suppressions), so they all agree on which finding an ignore dropped.
 */
export function findingKey(image: string, findingId: string, pkg: string): string {
  return `${image}\u0000${findingId}\u0000${pkg}`;
}

// crypto.hash (Node >= 20.12) is a one-shot digest, several times faster than createHash over 100,000 findings.
const oneShotHash = (crypto as { hash?: (algorithm: string, data: string) => string }).hash;

function sha256Hex(text: string): string {
  return oneShotHash ? oneShotHash('sha256', text) : crypto.createHash('sha256').update(text).digest('hex');
}
