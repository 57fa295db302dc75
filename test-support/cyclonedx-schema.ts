import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';

// CycloneDX's published JSON schemas, as @cyclonedx/cyclonedx-library ships them (res/schema), compiled with ajv.

// ajv-formats is CommonJS with a default export; under NodeNext the callable sits on `.default`.
const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;
const require = createRequire(import.meta.url);
const schemaDir = path.join(
  path.dirname(require.resolve('@cyclonedx/cyclonedx-library/package.json')),
  'res',
  'schema',
);
const compiled = new Map<string, ValidateFunction>();

function load(name: string): { $id: string } & Record<string, unknown> {
  return JSON.parse(readFileSync(path.join(schemaDir, name), 'utf8')) as { $id: string };
}

/** The schema errors of a CycloneDX JSON document (empty when valid). */
export function cycloneDxSchemaErrors(doc: unknown, specVersion = '1.6'): string[] {
  let validate = compiled.get(specVersion);
  if (!validate) {
    const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: true });
    addFormats(ajv);
    // The BOM schema refers to these by file name, relative to its own $id.
    for (const name of ['spdx', 'jsf-0.82']) {
      const file = `${name}.SNAPSHOT.schema.json`;
      ajv.addSchema(load(file), `http://cyclonedx.org/schema/${file}`);
    }
    validate = ajv.compile(load(`bom-${specVersion}.SNAPSHOT.schema.json`));
    compiled.set(specVersion, validate);
  }
  return validate(doc)
    ? []
    : (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''}`);
}
