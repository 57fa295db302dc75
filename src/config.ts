import type { Severity } from './model.js';
import type { Plan, ShardIdentity } from './scale/plan.js';

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
  /** `vex: repo` / `oci`: Trivy's own VEX sources (`--vex`), which the action cannot read itself. */
  vexSources?: ('repo' | 'oci')[];
}

/** Inline gate inputs; undefined = not given (the policy file, then the defaults, decide). */
export interface GateInputs {
  failOn?: FailOn;
  max: Partial<Record<'CRITICAL' | 'HIGH' | 'MEDIUM' | 'LOW', number>>;
  maxCvss?: number;
  ignoreUnfixed?: boolean;
  gate: GateMode;
}

export interface Config {
  mode: Mode;
  images: string[]; // raw entries; parsed into Targets by targets/
  discovery: DiscoveryConfig;
  registryUsername?: string;
  registryPassword?: string;
  registryToken?: string;
  registryAuth: RegistryAuthEntry[];
  githubToken?: string;
  trivy: TrivyConfig;
  ignoreFile?: string;
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
  workspace: string; // GITHUB_WORKSPACE or cwd
  tempDir: string; // RUNNER_TEMP or os.tmpdir()
}
