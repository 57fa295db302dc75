import type { Severity } from './model.js';
import type { Plan, ShardIdentity } from './scale/plan.js';
import type { DetectionPriority } from './scan/trivy-settings.js';
import type { ImageSourceInput } from './targets/local-images.js';

// The typed, validated form of every input (read once, in inputs.ts). Stages receive the slice they need.

export type Mode = 'scan' | 'discover' | 'report';
export type GateMode = 'enforce' | 'warn' | 'off';
export type FailOn = Severity | 'NONE';

export interface RegistryAuthEntry {
  registry: string; // host[:port]
  username?: string;
  password?: string;
  token?: string;
  provider?: 'ecr' | 'gar' | 'acr' | 'ghcr';
}

export interface DiscoveryConfig {
  registry?: string; // host[:port][/namespace]
  repositories: string[];
  excludeRepositories: string[];
  tags: string[];
  excludeTags: string[];
  maxImagesPerRepository: number; // 0 = all
  maxImages: number;
  discoverFiles: string[];
}

export interface TrivyConfig {
  version: string; // exact, or 'latest'
  downloadUrl: string;
  checksum?: string;
  path?: string;
  dbRepositories: string[];
  javaDbRepositories: string[];
  cacheDb: boolean;
  scanners: string[];
  pkgTypes: string[];
  platform?: string;
  timeoutMs: number;
  parallel: number;
  /** `trivy-config`: a trivy.yaml in the workspace (validated by scan/trivy-settings.ts before any work). */
  configFile?: string;
  skipFiles: string[];
  skipDirs: string[];
  detectionPriority?: DetectionPriority;
  vulnSeveritySource: string[];
  /** `ignore-policy`: a Rego file in the workspace. */
  ignorePolicy?: string;
  /** `vex: repo` / `oci`: Trivy's own VEX sources (`--vex`), which the action cannot read itself. */
  vexSources?: ('repo' | 'oci')[];
}

/** Inline gate inputs; undefined = not given (the policy file, then the defaults, decide). */
export interface GateInputs {
  failOn?: FailOn;
  max: Partial<Record<'CRITICAL' | 'HIGH' | 'MEDIUM' | 'LOW', number>>;
  maxCvss?: number;
  ignoreUnfixed?: boolean;
  /** `new-findings-only`: the rules apply only to findings not in the baseline. */
  newFindingsOnly?: boolean;
  gate: GateMode;
}

export interface Config {
  mode: Mode;
  images: string[]; // raw entries; parsed into Targets by targets/
  /** `image-source`: where unprefixed `images` entries are read from (auto = the registry). */
  imageSource: ImageSourceInput;
  discovery: DiscoveryConfig;
  registryUsername?: string;
  registryPassword?: string;
  registryToken?: string;
  registryAuth: RegistryAuthEntry[];
  githubToken?: string;
  trivy: TrivyConfig;
  /** `ignore-file`: every file listed, merged in order; empty = the default lookup. */
  ignoreFiles: string[];
  /** `dependency-graph`: submit each image's packages to GitHub's dependency submission API. */
  dependencyGraph?: boolean;
  /** `sbom`: one SBOM per image in output-dir/sbom/. */
  sbom?: 'none' | 'cyclonedx' | 'spdx';
  /** `vex`: VEX documents (paths or globs in the workspace), applied as ignores. */
  vexFiles?: string[];
  severity: Severity[];
  policyFile?: string;
  gate: GateInputs;
  uploadSarif: boolean;
  sarifCategory: string;
  /** `sarif-category` ended in `/`: it is the whole category of one run for all images (trivy-action's category). */
  sarifCategoryExact: boolean;
  /** Close the alerts of categories whose image this action no longer scans (never on pull requests). */
  pruneCategories: boolean;
  /** Keep ignored findings in SARIF as suppressed results (GitHub does not dismiss them; see report/sarif.ts). */
  sarifIncludeIgnored: boolean;
  annotations: boolean;
  prComment: 'auto' | 'always' | 'never';
  /** The `matrix` input: this job's matrix values, part of the PR comment's key. */
  matrix?: string;
  summary: boolean;
  outputDir: string; // absolute
  reports: string[];
  shards: number;
  /** The plan shard `images` belongs to (its header line), recorded in the results file for the fan-in job. */
  planShard?: ShardIdentity;
  /** `plan` (mode report): the discover job's plan, to name the images of a shard that sent nothing. */
  plan?: Plan;
  cacheResults: boolean;
  /** `baseline`: results files (paths or globs) of the base branch; empty = the Actions cache's. */
  baseline: string[];
  /** `base-image-candidates`: newer tags of a Dockerfile FROM image to scan and recommend from; 0 = off. */
  baseImageCandidates: number;
  workspace: string; // GITHUB_WORKSPACE or cwd
  tempDir: string; // RUNNER_TEMP or os.tmpdir()
}
