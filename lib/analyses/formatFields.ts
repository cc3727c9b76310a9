/**
 * The `key: field=value, field=value` CLI line of an analysis (SPEC 3.2).
 *
 * @module
 */
import { formatNumber } from './formatNumber.js';

/**
 * Formats an analysis line: `key: a=1, b=null, c=null (reason)`. Numbers use {@link formatNumber}
 * (4 significant figures); strings are printed as they are; a null field prints `null`, and its reason
 * (from `reasons`) follows the last null field that shares it, so a reason common to several fields is
 * printed once: `trend=null, magnitude=null, speed=null (not a continuation: ...)`.
 *
 * @param fields - [name, value] in display order.
 */
export function formatFields(key: string, fields: readonly [string, number | string | null][], reasons: Readonly<Record<string, string>>): string {
  const reasonOf = (name: string) => reasons[name] ?? 'not available';
  const parts = fields.map(([name, value], i) => {
    if (value !== null) return `${name}=${typeof value === 'number' ? formatNumber(value) : value}`;
    const reason = reasonOf(name);
    const later = fields.slice(i + 1).some(([n, v]) => v === null && reasonOf(n) === reason);
    return later ? `${name}=null` : `${name}=null (${reason})`;
  });
  return `${key}: ${parts.join(', ')}`;
}
