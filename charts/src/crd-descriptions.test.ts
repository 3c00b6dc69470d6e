// `kubectl explain` is how a platform team reads our API: every field of every CRD says what it
// is for, in a sentence that ends (a YAML ` #` once cut one short).
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { repoRoot } from '@anshim/dev-platform';

interface Schema {
  description?: string;
  properties?: Record<string, Schema>;
  items?: Schema;
  additionalProperties?: Schema | boolean;
}

const CRD_DIR = join(repoRoot, 'charts/anshim/crds');

/** Paths of fields without a finished description, walking properties, items and map values. */
export function undescribed(schema: Schema, path: string, out: string[] = []): string[] {
  const text = schema.description?.trim() ?? '';
  if (!text) out.push(`${path}: no description`);
  else if (!/[.!?)」]$/.test(text)) out.push(`${path}: description does not end a sentence: "${text.slice(-40)}"`);
  for (const [name, child] of Object.entries(schema.properties ?? {}))
    // The API server refuses anything but a type on the root's metadata (ObjectMeta documents itself).
    if (!(name === 'metadata' && !path.includes('.'))) undescribed(child, `${path}.${name}`, out);
  if (schema.items) undescribed(schema.items, `${path}[]`, out);
  if (typeof schema.additionalProperties === 'object') undescribed(schema.additionalProperties, `${path}{}`, out);
  return out;
}

test('every field of every CRD has a description that ends a sentence', () => {
  const files = readdirSync(CRD_DIR).filter((f) => f.endsWith('.yaml'));
  assert.ok(files.length >= 2, `CRDs found in ${CRD_DIR}`);
  const missing: string[] = [];
  for (const file of files) {
    const crd = parse(readFileSync(join(CRD_DIR, file), 'utf8')) as {
      spec: { names: { kind: string }; versions: Array<{ name: string; schema: { openAPIV3Schema: Schema } }> };
    };
    for (const v of crd.spec.versions)
      undescribed(v.schema.openAPIV3Schema, `${crd.spec.names.kind}/${v.name}`, missing);
  }
  assert.deepEqual(missing, []);
});

test('the walker finds what is missing or cut short', () => {
  const found = undescribed(
    {
      description: 'Root.',
      properties: {
        a: { description: 'The message body with' },
        b: { items: { description: 'Item.' }, description: 'List.' },
        c: { description: 'Map.', additionalProperties: {} },
      },
    },
    'X',
  );
  assert.deepEqual(found, [
    'X.a: description does not end a sentence: "The message body with"',
    'X.c{}: no description',
  ]);
});
