import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The project root (tests run from anywhere). */
export const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/**
 * `../shared` beside the project: Trivy's own reports and CLI reference. Read from there, never copied in.
 * Conformance suites use `describe.runIf(existsSync(sharedTrivyReports))`.
 */
export const sharedDir = path.resolve(projectRoot, '..', 'shared');
export const sharedTrivyReports = path.join(sharedDir, 'trivy', 'reports');
export const sharedTrivyCli = path.join(sharedDir, 'trivy', 'cli');
