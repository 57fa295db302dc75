import { ConfigurationError } from '../errors.js';

// Which release archive fits this runner. Pure: Node's process.platform / process.arch in, asset name out.

export interface TrivyAsset {
  name: string; // trivy_0.74.0_Linux-64bit.tar.gz
  archive: 'tar.gz' | 'zip';
  binary: 'trivy' | 'trivy.exe';
}

const OS: Partial<Record<NodeJS.Platform, 'Linux' | 'macOS' | 'windows'>> = {
  linux: 'Linux',
  darwin: 'macOS',
  win32: 'windows',
};
const ARCH: Record<string, '64bit' | 'ARM64'> = { x64: '64bit', arm64: 'ARM64' };

export function trivyAsset(version: string, platform: NodeJS.Platform, arch: string): TrivyAsset {
  const os = OS[platform];
  const cpu = ARCH[arch];
  // Trivy publishes Windows builds for amd64 only.
  if (!os || !cpu || (os === 'windows' && cpu !== '64bit')) {
    throw new ConfigurationError(
      `Trivy publishes no release archive for ${platform}/${arch} that this action can install ` +
        '(Linux and macOS on x64 or arm64, Windows on x64). Install Trivy yourself and set `trivy-path`.',
      'trivy-path',
    );
  }
  const archive = os === 'windows' ? 'zip' : 'tar.gz';
  return {
    name: `trivy_${version}_${os}-${cpu}.${archive}`,
    archive,
    binary: os === 'windows' ? 'trivy.exe' : 'trivy',
  };
}
