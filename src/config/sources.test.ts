import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPlan } from './index.js';

const svc = (name: string) =>
  `apiVersion: v1\nkind: Service\nmetadata:\n  name: ${name}\nspec:\n  ports: [{port: 80}]\n`;

describe('loadPlan sources', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'infergate-sources-'));
    await mkdir(join(dir, 'b', 'nested'), { recursive: true });
    await mkdir(join(dir, 'empty'));
    await writeFile(join(dir, 'z.yaml'), svc('z'));
    await writeFile(join(dir, 'a.yml'), svc('a'));
    await writeFile(join(dir, 'b', 'nested', 'c.YAML'), svc('c'));
    await writeFile(join(dir, 'notes.txt'), 'not a manifest');
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads every *.yaml / *.yml of a folder, recursively, in sorted path order', async () => {
    const r = await loadPlan([dir]);
    expect(r.files).toEqual([join(dir, 'a.yml'), join(dir, 'b', 'nested', 'c.YAML'), join(dir, 'z.yaml')]);
    expect([...r.plan!.services.keys()]).toEqual(['default/a', 'default/c', 'default/z']);
  });

  it('reads a file given twice once', async () => {
    const f = join(dir, 'a.yml');
    const r = await loadPlan([f, dir]);
    expect(r.files.filter((x) => x === f)).toHaveLength(1);
    expect(r.diagnostics).toEqual([]);
  });

  it('reads stdin for "-", named <stdin> and not listed among the files', async () => {
    const r = await loadPlan(['-', join(dir, 'z.yaml')], { stdin: Readable.from([svc('from-stdin')]) });
    expect(r.files).toEqual([join(dir, 'z.yaml')]);
    expect(r.plan!.services.get('default/from-stdin')!.source.file).toBe('<stdin>');
  });

  it('reports a missing path and an empty folder as errors', async () => {
    const missing = join(dir, 'nope.yaml');
    const r = await loadPlan([missing, join(dir, 'empty')]);
    expect(r.plan).toBeUndefined();
    expect(r.diagnostics.map((d) => [d.code, d.file, d.message])).toEqual([
      ['FILE_NOT_FOUND', missing, 'no such file or folder'],
      ['NO_MANIFESTS', join(dir, 'empty'), 'the folder holds no *.yaml or *.yml files'],
    ]);
  });
});
