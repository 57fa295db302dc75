// VEX documents written by the tests, one builder per format, shaped as each specification describes them:
// OpenVEX v0.2.0 (openvex.dev/ns/v0.2.0), CycloneDX 1.6 VEX (`vulnerabilities[].analysis`), CSAF 2.0 VEX
// (`document.category: csaf_vex`, `product_tree`, `product_status`, `flags`, `threats`).

/** One statement: a vulnerability in an image (a `pkg:oci` purl or a reference), optionally narrowed to packages. */
export interface VexStatementSpec {
  id: string;
  aliases?: string[];
  /** `pkg:oci/...` purl or an image reference; omitted = the packages in every image. */
  image?: string;
  packages?: string[];
  status: 'not_affected' | 'fixed' | 'affected' | 'under_investigation';
  justification?: string;
  impact?: string;
}

/** `pkg:oci/<name>@<digest>?repository_url=<registry/repository>`, as Trivy and the OpenVEX examples write it. */
export function ociPurl(repositoryUrl: string, digest?: string, extra: Record<string, string> = {}): string {
  const name = repositoryUrl.slice(repositoryUrl.lastIndexOf('/') + 1);
  const version = digest ? `@${encodeURIComponent(digest)}` : '';
  const qualifiers = new URLSearchParams({ repository_url: repositoryUrl, ...extra });
  return `pkg:oci/${name}${version}?${qualifiers.toString().replaceAll('%2F', '/')}`;
}

export function openVexDocument(statements: VexStatementSpec[]): object {
  return {
    '@context': 'https://openvex.dev/ns/v0.2.0',
    '@id': 'https://example.com/vex/test-1',
    author: 'Image Scan Gate tests',
    timestamp: '2026-01-01T00:00:00Z',
    version: 1,
    statements: statements.map((s) => ({
      vulnerability: { name: s.id, ...(s.aliases && { aliases: s.aliases }) },
      products: [
        {
          '@id': s.image ?? s.packages?.[0] ?? 'pkg:generic/none',
          ...(s.image && s.packages && { subcomponents: s.packages.map((p) => ({ '@id': p })) }),
        },
      ],
      status: s.status,
      ...(s.justification && { justification: s.justification }),
      ...(s.impact && { impact_statement: s.impact }),
      ...(s.status === 'affected' && { action_statement: 'Upgrade.' }),
    })),
  };
}

const CDX_STATE = {
  not_affected: 'not_affected',
  fixed: 'resolved',
  affected: 'exploitable',
  under_investigation: 'in_triage',
} as const;

/** A CycloneDX 1.6 VEX BOM about one image (metadata.component), its packages as components. */
export function cycloneDxVexDocument(image: string | undefined, statements: VexStatementSpec[]): object {
  const packages = [...new Set(statements.flatMap((s) => s.packages ?? []))];
  const refOf = (purl: string) => `pkg-${packages.indexOf(purl)}`;
  return {
    bomFormat: 'CycloneDX',
    specVersion: '1.6',
    serialNumber: 'urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79',
    version: 1,
    metadata: {
      timestamp: '2026-01-01T00:00:00Z',
      ...(image && {
        component: { type: 'container', name: image.split('?')[0], 'bom-ref': 'image', purl: image },
      }),
    },
    components: packages.map((purl) => ({
      type: 'library',
      name: purl.split('/').at(-1)!.split('@')[0],
      'bom-ref': refOf(purl),
      purl,
    })),
    vulnerabilities: statements.map((s) => ({
      id: s.id,
      ...(s.aliases && { references: s.aliases.map((a) => ({ id: a, source: { name: 'NVD' } })) }),
      analysis: {
        state: CDX_STATE[s.status],
        ...(s.justification && { justification: s.justification }),
        ...(s.impact && { detail: s.impact }),
      },
      affects: s.packages?.length
        ? s.packages.map((p) => ({ ref: `urn:cdx:3e671687-395b-41f5-a30f-a58921a69b79/1#${refOf(p)}` }))
        : [{ ref: 'image' }],
    })),
  };
}

const CSAF_STATUS = {
  not_affected: 'known_not_affected',
  fixed: 'fixed',
  affected: 'known_affected',
  under_investigation: 'under_investigation',
} as const;

/** A CSAF 2.0 VEX document: the image and packages in the product tree, each package a component of the image. */
export function csafVexDocument(image: string, statements: VexStatementSpec[]): object {
  const packages = [...new Set(statements.flatMap((s) => s.packages ?? []))];
  const pkgId = (p: string) => `PKG-${packages.indexOf(p) + 1}`;
  const inImage = (p: string) => `IMG-1:${pkgId(p)}`;
  const productsOf = (s: VexStatementSpec) => (s.packages?.length ? s.packages.map(inImage) : ['IMG-1']);
  return {
    document: {
      category: 'csaf_vex',
      csaf_version: '2.0',
      title: 'Image Scan Gate test VEX',
      publisher: { category: 'vendor', name: 'Acme', namespace: 'https://acme.example' },
      tracking: {
        id: 'ACME-VEX-1',
        status: 'final',
        version: '1',
        initial_release_date: '2026-01-01T00:00:00Z',
        current_release_date: '2026-01-01T00:00:00Z',
        revision_history: [{ date: '2026-01-01T00:00:00Z', number: '1', summary: 'Initial' }],
      },
    },
    product_tree: {
      branches: [
        {
          category: 'vendor',
          name: 'Acme',
          branches: [
            {
              category: 'product_name',
              name: 'app image',
              product: {
                name: 'app image',
                product_id: 'IMG-1',
                product_identification_helper: { purl: image },
              },
            },
          ],
        },
      ],
      full_product_names: packages.map((p) => ({
        name: p,
        product_id: pkgId(p),
        product_identification_helper: { purl: p },
      })),
      relationships: packages.map((p) => ({
        category: 'default_component_of',
        product_reference: pkgId(p),
        relates_to_product_reference: 'IMG-1',
        full_product_name: { name: `${p} in the image`, product_id: inImage(p) },
      })),
    },
    vulnerabilities: statements.map((s) => ({
      cve: s.id,
      ...(s.aliases && { ids: s.aliases.map((a) => ({ system_name: 'GHSA', text: a })) }),
      product_status: { [CSAF_STATUS[s.status]]: productsOf(s) },
      ...(s.justification && { flags: [{ label: s.justification, product_ids: productsOf(s) }] }),
      ...(s.impact && { threats: [{ category: 'impact', details: s.impact, product_ids: productsOf(s) }] }),
      ...(s.status === 'affected' && {
        remediations: [{ category: 'vendor_fix', details: 'Upgrade.', product_ids: productsOf(s) }],
      }),
    })),
  };
}
