/**
 * How tensor names and shapes change when a model is exported to MATLAB, for matching a `.mat`
 * export against the model it came from when the file carries no `tensor_names_json` mapping.
 *
 * @module
 */

/**
 * The MATLAB variable name an exporter makes from a tensor name: characters MATLAB does not allow in
 * a name (`.`, `/`, `-` ...) become `_`, as scipy-based exporters do (`fc1.weight` -> `fc1_weight`,
 * `/blocks.0/Constant` -> `_blocks_0_Constant`, then a leading `_` is dropped because MATLAB names
 * start with a letter).
 */
export function matlabVariableName(name: string): string {
  return name.replace(/[^A-Za-z0-9_]/g, '_').replace(/^_+/, '');
}

/**
 * True when two shapes hold the same elements in the same order up to dimensions of size 1: MATLAB
 * has no arrays of rank below 2, so a `[1, 32]` matrix and a `[32]` vector (or `[1]` and `[]`) cannot
 * be told apart in a `.mat` file.
 */
export function sameShapeIgnoringSingletons(a: readonly number[], b: readonly number[]): boolean {
  const sa = a.filter((d) => d !== 1);
  const sb = b.filter((d) => d !== 1);
  return sa.length === sb.length && sa.every((d, i) => d === sb[i]);
}
