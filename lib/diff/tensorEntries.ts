/**
 * The per-tensor list of an input ({@link InputInfo.entries}): names, dtypes, shapes and stored bytes,
 * so the structure, memory and cost analyses never reopen a file.
 *
 * @module
 */
import { byteLengthOf } from '../formats/dtype.js';
import type { ModelFile } from '../formats/TensorDescriptor.js';
import type { InputInfo, TensorEntry } from './ModelDiff.js';

/**
 * The entries of a model in file order. `bytes` is the size of the stored dtype (`byteLengthOf`: Q8_0
 * blocks 34 bytes per 32 elements, integer codes 1 byte ...), and 0 for a tied alias, which shares
 * another tensor's storage (a PyTorch `lm_head.weight` tied to `tok_emb.weight` is stored once).
 */
export function tensorEntries(m: Pick<ModelFile, 'tensors'>): InputInfo['entries'] {
  return m.tensors.map((t): TensorEntry => {
    const e: TensorEntry = { name: t.name, dtype: t.dtype, shape: [...t.shape], count: t.count, bytes: t.aliasOf !== undefined ? 0 : byteLengthOf(t.dtype, t.count) };
    if (t.role !== undefined) e.role = t.role;
    if (t.aliasOf !== undefined) e.aliasOf = t.aliasOf;
    return e;
  });
}
