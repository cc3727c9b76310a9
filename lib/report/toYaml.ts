/**
 * YAML text of a document, readable by YAML 1.1 parsers too (PyYAML): `yes`, `no`, `on`, `off`, `y`, `n`
 * are quoted (they would be booleans there), and strings holding line or paragraph separators are
 * double-quoted with the `\L`, `\P`, `\N` escapes (raw, they would end the line there).
 *
 * @module
 */
import { Document, visit } from 'yaml';

const BREAKS = /[\u0085\u2028\u2029]/;

/** Serialises `value` (plain JSON-like data; NaN and infinities become `.nan`, `.inf`, `-.inf`). */
export function toYaml(value: unknown): string {
  const doc = new Document(value, { version: '1.1', aliasDuplicateObjects: false });
  visit(doc, {
    Scalar(_key, node) {
      if (typeof node.value === 'string' && BREAKS.test(node.value)) node.type = 'QUOTE_DOUBLE';
    },
  });
  // Every such character now stands inside a double-quoted scalar, where these escapes are valid.
  return doc.toString({ lineWidth: 0 }).replace(/\u2028/g, '\\L').replace(/\u2029/g, '\\P').replace(/\u0085/g, '\\N');
}
