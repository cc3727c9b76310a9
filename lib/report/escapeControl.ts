/**
 * Escaping of text that comes from files (tensor names, metadata) before it is printed on a terminal.
 *
 * @module
 */

// C0 controls (newline, carriage return, ESC ...), DEL, C1 controls, and the Unicode line and paragraph
// separators: anything that could end a line, move the cursor or start an ANSI escape sequence.
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

/**
 * Replaces control characters by `\n`, `\t`, `\r` or `\u{XX}` escapes, so a tensor name can neither forge
 * output lines nor send terminal escape sequences. Printable text is unchanged.
 */
export function escapeControl(text: string): string {
  return text.replace(CONTROL, (c) => {
    if (c === '\n') return '\\n';
    if (c === '\t') return '\\t';
    if (c === '\r') return '\\r';
    return `\\u{${c.codePointAt(0)!.toString(16)}}`;
  });
}
