import { ConfigurationError } from '../errors.js';

// SHA-256 of official Trivy release archives, shipped in the action on purpose: a checksum fetched from the same
// release as the archive proves nothing once the release itself is compromised (the March 2026 incident:
// GHSA-69fq-xp46-6x23). Each value was found, identical, in at least two independent public pin lists. Add a release
// here only after the same cross-check.

export const DEFAULT_TRIVY_VERSION = '0.74.0';

export const TRIVY_SHA256: Readonly<Record<string, string>> = {
  'trivy_0.74.0_Linux-64bit.tar.gz': '2ae6fe3ee734b7fdf11335663e18c75ea12dccc76062f09f164a3b0f8be4371a',
  'trivy_0.74.0_Linux-ARM64.tar.gz': 'b94ce1976bbf3c15b514b605ee88be7c6d94a29be2302847ff01cb794d47aad5',
  'trivy_0.74.0_macOS-64bit.tar.gz': '472816f6888dda689d075c30254d4210b4d1035acf365aa72332f584c2f60485',
  'trivy_0.74.0_macOS-ARM64.tar.gz': '1caada5e0e2091909357c7525d3aa76f4b660b13821bc143b190c7483e31cc11',
  'trivy_0.74.0_windows-64bit.zip': '94c40e0696e4b907a74b7b2e1438d5d72ebaca83115817407f568a002d520842',
  'trivy_0.73.0_Linux-64bit.tar.gz': '2edd39da482bb4e9831962487b68f68e3928ec3137794757f54d00383d79547b',
  'trivy_0.73.0_Linux-ARM64.tar.gz': '13833d97e8a1a5367471c372a173180157f593bece570e20d5d925fef552f5dd',
  'trivy_0.73.0_macOS-64bit.tar.gz': 'd39d1374dd3e35d48621b82df9b6625fe69f9920cc67d2739ed81bb679f16f51',
  'trivy_0.73.0_macOS-ARM64.tar.gz': '80cc25faaf6378e37701202d0b4f9f43d9e413d198d594ba60fdf559fe44a683',
  'trivy_0.73.0_windows-64bit.zip': 'd2d3ad5292aae470a03eb6506db86fce81b1894592b8451cadaf60eaa22f2025',
  'trivy_0.69.3_Linux-64bit.tar.gz': '1816b632dfe529869c740c0913e36bd1629cb7688bd5634f4a858c1d57c88b75',
  'trivy_0.69.3_Linux-ARM64.tar.gz': '7e3924a974e912e57b4a99f65ece7931f8079584dae12eb7845024f97087bdfd',
  'trivy_0.69.3_macOS-64bit.tar.gz': 'fec4a9f7569b624dd9d044fca019e5da69e032700edbb1d7318972c448ec2f4e',
  'trivy_0.69.3_macOS-ARM64.tar.gz': 'a2f2179afd4f8bb265ca3c7aefb56a666bc4a9a411663bc0f22c3549fbc643a5',
  'trivy_0.69.3_windows-64bit.zip': '74362dc711383255308230ecbeb587eb1e4e83a8d332be5b0259afac6e0c2224',
};

/** Releases the action refuses whatever the checksum says. */
const FORBIDDEN_TRIVY_VERSIONS: Readonly<Record<string, string>> = {
  '0.69.4':
    'the malicious release published and withdrawn in March 2026 (GHSA-69fq-xp46-6x23, CVE-2026-33634)',
};

export function builtInChecksum(assetName: string): string | undefined {
  return TRIVY_SHA256[assetName];
}

/** Throws for a version the action must never install (also when `latest` resolves to it). */
export function assertTrivyVersionAllowed(version: string): void {
  const why = FORBIDDEN_TRIVY_VERSIONS[version.replace(/^v/, '')];
  if (why) {
    throw new ConfigurationError(
      `Trivy ${version} is ${why}; it is never installed. Set \`trivy-version\` to ${DEFAULT_TRIVY_VERSION}.`,
      'trivy-version',
    );
  }
}

/** The hex SHA-256 for `assetName` in a sha256sum-format file (`<hex>  <name>` or `<hex> *<name>`). */
export function checksumFromChecksumsFile(text: string, assetName: string): string | undefined {
  for (const line of text.split(/\r?\n/)) {
    const m = /^([0-9a-fA-F]{64})\s+\*?(\S+)\s*$/.exec(line.trim());
    if (m && m[2] === assetName) return m[1].toLowerCase();
  }
  return undefined;
}
