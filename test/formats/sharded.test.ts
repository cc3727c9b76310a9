import { mkdirSync, mkdtempSync, writeFileSync, copyFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openSharded, findShardLayout, type ShardOpener } from '../../lib/formats/sharded/shardedReader.js';
import { readHfConfig } from '../../lib/formats/sharded/readHfConfig.js';
import { parseSafetensorsHeader } from '../../lib/formats/safetensors/parseSafetensorsHeader.js';
import type { ModelFile } from '../../lib/formats/TensorDescriptor.js';
import { fsMappedFile } from './fsMappedFile.js';
import { diffaiError, expectMatchesReference, fixture, meta } from './helpers.js';

/** Opens a safetensors shard with the fs stand-in and the lead's header parser. */
const openShard: ShardOpener = async (path) => {
  const file = fsMappedFile(path);
  const { header, dataOffset } = file.safetensorsHeader();
  const parsed = parseSafetensorsHeader(header, file.size - dataOffset, path);
  const m: ModelFile = {
    path,
    format: 'safetensors',
    tensors: parsed.entries.map((e) => ({ name: e.name, dtype: e.dtype, shape: e.shape, count: e.count, source: { kind: 'mapped', file, offset: dataOffset + e.begin, byteLength: e.end - e.begin } })),
    metadata: parsed.metadata ?? {},
    orderIsDepth: false,
    bytes: file.size,
    close: () => file.close(),
  };
  return m;
};

const tmp = mkdtempSync(join(tmpdir(), 'diffai-sharded-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('sharded models', () => {
  it('opens an index file, merges the shards and reads config.json', async () => {
    const m = await openSharded(fixture('sharded/model.safetensors.index.json'), {}, openShard);
    expectMatchesReference(m, 'sharded');
    const md = meta(m);
    expect(md.config).toEqual({ model_type: 'tiny', num_attention_heads: 2, hidden_size: 4 });
    expect(md.index).toEqual({ total_size: 100 });
    expect(md.shards).toEqual(['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors']);
    m.close();
  });
  it('opens a directory holding an index', async () => {
    const m = await openSharded(fixture('sharded'), {}, openShard);
    expect(m.tensors.map((t) => t.name).sort()).toEqual(['emb.weight', 'fc.bias', 'fc.weight']);
    m.close();
  });
  it('opens a directory of shards without an index', async () => {
    const d = join(tmp, 'noindex');
    mkdirSync(d);
    for (const f of ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors']) copyFileSync(fixture(`sharded/${f}`), join(d, f));
    expect(findShardLayout(d)).toEqual({ shards: [join(d, 'model-00001-of-00002.safetensors'), join(d, 'model-00002-of-00002.safetensors')] });
    const m = await openSharded(d, {}, openShard);
    expect(m.tensors).toHaveLength(3);
    m.close();
  });
  it('does not treat a directory of unrelated checkpoints as one model', () => {
    const d = join(tmp, 'runs');
    mkdirSync(d);
    writeFileSync(join(d, 'a.safetensors'), '');
    writeFileSync(join(d, 'b.pt'), '');
    expect(findShardLayout(d)).toBeNull();
  });
  it('ERR_FORMAT: a tensor listed in the index but missing from its shard', async () => {
    const d = join(tmp, 'missing');
    mkdirSync(d);
    copyFileSync(fixture('sharded/model-00001-of-00002.safetensors'), join(d, 'model-00001-of-00002.safetensors'));
    writeFileSync(join(d, 'model.safetensors.index.json'), JSON.stringify({ weight_map: { 'fc.weight': 'model-00001-of-00002.safetensors', ghost: 'model-00001-of-00002.safetensors' } }));
    const e = await diffaiError(() => openSharded(d, {}, openShard));
    expect(e.code).toBe('ERR_FORMAT');
    expect(e.message).toContain('ghost');
  });
  it('ERR_FORMAT: a shard outside the model directory, and an unreadable index', async () => {
    const d = join(tmp, 'escape');
    mkdirSync(d);
    writeFileSync(join(d, 'model.safetensors.index.json'), JSON.stringify({ weight_map: { w: '../x.safetensors' } }));
    expect((await diffaiError(() => openSharded(d, {}, openShard))).message).toContain('outside the model directory');
    writeFileSync(join(d, 'model.safetensors.index.json'), '{not json');
    expect((await diffaiError(() => openSharded(d, {}, openShard))).code).toBe('ERR_FORMAT');
  });
  it('a malformed config.json is reported, not fatal', () => {
    const d = join(tmp, 'badconfig');
    mkdirSync(d);
    writeFileSync(join(d, 'config.json'), '[1, 2');
    expect(readHfConfig(d)).toMatchObject({ error: expect.stringContaining('config.json') });
    expect(readHfConfig(join(tmp, 'nothing-here'))).toBeNull();
  });
});
