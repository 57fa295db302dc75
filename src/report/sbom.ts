import { createHash } from 'node:crypto';
import { ComponentType } from '@cyclonedx/cyclonedx-library/Enums';
import { Bom, Component } from '@cyclonedx/cyclonedx-library/Models';
import { JSON as CdxJson, JsonSerializer } from '@cyclonedx/cyclonedx-library/Serialize';
import { Spec1dot6 } from '@cyclonedx/cyclonedx-library/Spec';
import { PackageURL } from 'packageurl-js';
import type { ImageResult, InstalledPackage } from '../model.js';

// One SBOM per scanned image, from the packages of the one Trivy report (--list-all-pkgs): CycloneDX 1.6 JSON through
// @cyclonedx/cyclonedx-library, or SPDX 2.3 JSON. The image is the subject (metadata.component / the described
// package) with a `pkg:oci` purl of its digest and repository; every package depends from / is contained in it.
// Deterministic for the same image and packages (serial number and SPDX namespace are derived from the digest).
// Pure: the caller writes the file.

export type SbomFormat = 'cyclonedx' | 'spdx';

export interface SbomOptions {
  toolVersion: string;
  /** When the SBOM was made (the run's start). */
  createdAt: string;
}

/** `pkg:oci/api@sha256:…?repository_url=ghcr.io/acme/api&tag=1.2`, as Trivy names images. */
export function imagePurl(image: ImageResult): string | undefined {
  const { registry, repository, tag } = image.target;
  const digest = image.digest ?? image.target.digest;
  if (!digest) return undefined;
  const name = repository.slice(repository.lastIndexOf('/') + 1);
  const qualifiers: Record<string, string> = { repository_url: `${registry}/${repository}` };
  if (tag) qualifiers.tag = tag;
  return new PackageURL('oci', undefined, name, digest, qualifiers, undefined).toString();
}

/** A file name for the image's SBOM: its reference made safe, plus the digest's start so tags cannot collide. */
export function sbomFileName(image: ImageResult, format: SbomFormat): string {
  const safe = image.target.ref
    .replace(/@.*$/, '')
    .replace(/[^A-Za-z0-9._-]+/g, '_')
    .slice(0, 150);
  const digest = (image.digest ?? '').replace(/^sha256:/, '').slice(0, 12);
  return `${safe}${digest ? `_${digest}` : ''}.${format === 'cyclonedx' ? 'cdx' : 'spdx'}.json`;
}

export function renderSbom(image: ImageResult, format: SbomFormat, opts: SbomOptions): string {
  return format === 'cyclonedx' ? renderCycloneDx(image, opts) : renderSpdx(image, opts);
}

function parsedPurl(text: string | undefined): PackageURL | undefined {
  if (!text) return undefined;
  try {
    return PackageURL.fromString(text);
  } catch {
    return undefined; // a purl Trivy wrote that the spec refuses: the component is kept, without it
  }
}

function packageKey(p: InstalledPackage): string {
  return `${p.purl ?? `${p.type ?? 'pkg'}:${p.name}@${p.version ?? ''}`}|${p.target}|${p.pkgPath ?? ''}`;
}

function renderCycloneDx(image: ImageResult, opts: SbomOptions): string {
  const bom = new Bom();
  bom.serialNumber = `urn:uuid:${uuidFrom(`${image.digest ?? image.target.ref}|cyclonedx`)}`;
  bom.metadata.timestamp = new Date(opts.createdAt);
  bom.metadata.tools.components.add(
    new Component(ComponentType.Application, 'image-scan-gate', { version: opts.toolVersion }),
  );
  if (image.trivyVersion)
    bom.metadata.tools.components.add(
      new Component(ComponentType.Application, 'trivy', { version: image.trivyVersion }),
    );
  const subject = new Component(ComponentType.Container, image.target.ref.replace(/@.*$/, ''), {
    bomRef: 'image',
    ...(image.digest && { version: image.digest }),
    ...(imagePurl(image) && { purl: imagePurl(image) }),
  });
  bom.metadata.component = subject;
  const refs = new Set<string>();
  for (const p of image.packages ?? []) {
    let ref = packageKey(p);
    for (let n = 2; refs.has(ref); n++) ref = `${packageKey(p)}#${n}`;
    refs.add(ref);
    const purl = parsedPurl(p.purl)?.toString();
    const component = new Component(ComponentType.Library, p.name, {
      bomRef: ref,
      ...(p.version && { version: p.version }),
      ...(purl && { purl }),
    });
    bom.components.add(component);
    subject.dependencies.add(component.bomRef);
  }
  const serializer = new JsonSerializer(new CdxJson.Normalize.Factory(Spec1dot6));
  return `${serializer.serialize(bom, { sortLists: true, space: 2 })}\n`;
}

function renderSpdx(image: ImageResult, opts: SbomOptions): string {
  const imageId = 'SPDXRef-Image';
  const purl = imagePurl(image);
  const packages: object[] = [
    {
      name: image.target.ref.replace(/@.*$/, ''),
      SPDXID: imageId,
      ...(image.digest && { versionInfo: image.digest }),
      downloadLocation: 'NOASSERTION',
      filesAnalyzed: false,
      primaryPackagePurpose: 'CONTAINER',
      ...(purl && {
        externalRefs: [
          { referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: purl },
        ],
      }),
    },
  ];
  const relationships: object[] = [
    { spdxElementId: 'SPDXRef-DOCUMENT', relationshipType: 'DESCRIBES', relatedSpdxElement: imageId },
  ];
  (image.packages ?? []).forEach((p, i) => {
    const id = `SPDXRef-Package-${i + 1}`;
    const ref = parsedPurl(p.purl)?.toString();
    packages.push({
      name: p.name,
      SPDXID: id,
      ...(p.version && { versionInfo: p.version }),
      downloadLocation: 'NOASSERTION',
      filesAnalyzed: false,
      primaryPackagePurpose: 'LIBRARY',
      ...(ref && {
        externalRefs: [
          { referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: ref },
        ],
      }),
      ...(p.pkgPath && { sourceInfo: `found in ${p.pkgPath}` }),
    });
    relationships.push({ spdxElementId: imageId, relationshipType: 'CONTAINS', relatedSpdxElement: id });
  });
  const doc = {
    spdxVersion: 'SPDX-2.3',
    dataLicense: 'CC0-1.0',
    SPDXID: 'SPDXRef-DOCUMENT',
    name: image.target.ref,
    documentNamespace: `https://image-scan-gate.invalid/spdx/${uuidFrom(`${image.digest ?? image.target.ref}|spdx`)}`,
    creationInfo: {
      created: new Date(opts.createdAt).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      creators: [
        `Tool: image-scan-gate-${opts.toolVersion}`,
        ...(image.trivyVersion ? [`Tool: trivy-${image.trivyVersion}`] : []),
      ],
    },
    packages,
    relationships,
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}

/** A version-4-shaped UUID from a hash: the same image gives the same serial number on every run. */
function uuidFrom(text: string): string {
  const h = createHash('sha256').update(text).digest('hex');
  const variant = ((parseInt(h[16], 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
