/**
 * A pickle virtual machine that parses and never executes.
 *
 * Why not pickleparser (checked in ECOSYSTEM.md): PyTorch files need things it cannot give. The legacy
 * format begins with a magic number pickled as a LONG1 above 2^53, which pickleparser throws on; a
 * security scan must list every global of a pickle, not stop at the first; tied weights are found by the
 * identity of persistent storage objects; and a fuzzed input must fail with an error at the offending
 * opcode (stack underflow, unknown memo key, missing MARK), where pickleparser returns `undefined`.
 * This machine implements protocols 0-5 with those checks, bounded by input size.
 *
 * Nothing is ever called: GLOBAL / STACK_GLOBAL / INST ask a {@link PicklePolicy} for a value, and
 * REDUCE / NEWOBJ / BUILD / OBJ hand the policy inert data. The load policy refuses any global outside
 * the allow-list when it is named, before anything is built; the scan policy records it and goes on.
 *
 * @module
 */
import { DiffaiError } from '../../errors.js';

/** A Python tuple (distinct from a list, which is a JS array). */
export class PyTuple {
  constructor(readonly items: PyValue[]) {}
}

/** A Python dict / OrderedDict, in insertion order. Keys are primitives (str, int, float, bool, None). */
export class PyDict {
  readonly map = new Map<string | number | bigint | boolean | null, PyValue>();
  /** Attributes set by BUILD (e.g. a state dict's `_metadata`). */
  state: PyValue = null;
}

/** A set or frozenset (kept as a list of items). */
export class PySet {
  constructor(readonly items: PyValue[]) {}
}

/** A reference to a global (`module.name`) that the policy allowed or is recording. */
export class PyGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
  ) {}
  get qualified(): string {
    return `${this.module}.${this.name}`;
  }
}

/** An opaque result of calling or instantiating something (scan mode, or inert objects). */
export class PyOpaque {
  constructor(
    readonly callee: PyValue,
    readonly args: PyValue,
  ) {}
  state: PyValue = null;
}

/** Any value on the pickle stack. Policies may push their own object types (tensors, storages). */
export type PyValue = null | boolean | number | bigint | string | Uint8Array | PyValue[] | PyTuple | PyDict | PySet | PyGlobal | PyOpaque | object;

/** What the machine asks about globals, persistent ids, calls and BUILD. */
export interface PicklePolicy {
  /** Value of a global named by GLOBAL, STACK_GLOBAL or INST (at byte `offset`). Throw to refuse. */
  global(module: string, name: string, opcode: string, offset: number): PyValue;
  /** Value of a persistent id (PERSID / BINPERSID). */
  persistentLoad(pid: PyValue, offset: number): PyValue;
  /** REDUCE / NEWOBJ / NEWOBJ_EX / OBJ / INST: `callee(*args)`, modelled, never run. */
  call(callee: PyValue, args: PyValue[], opcode: string, offset: number): PyValue;
  /** BUILD: `obj.__setstate__(state)`, modelled. Returns the object left on the stack. */
  build(obj: PyValue, state: PyValue, offset: number): PyValue;
  /** EXT1/EXT2/EXT4 (the copyreg extension registry). */
  extension(code: number, offset: number): PyValue;
}

/** Sequential input of the machine. */
export interface PickleInput {
  /** Current absolute position (for messages). */
  readonly position: number;
  byte(): number;
  bytes(n: number): Uint8Array;
  /** Bytes up to (not including) the next `\n`, which is consumed. */
  line(): Uint8Array;
}

/** A {@link PickleInput} over a buffer. */
export class BufferInput implements PickleInput {
  private pos: number;
  constructor(
    private readonly data: Uint8Array,
    private readonly errorFor: (message: string) => Error,
    start = 0,
    private readonly base = 0,
  ) {
    this.pos = start;
  }
  get position(): number {
    return this.base + this.pos;
  }
  /** Position relative to the buffer start. */
  get offset(): number {
    return this.pos;
  }
  byte(): number {
    if (this.pos >= this.data.length) throw this.errorFor(`unexpected end of data at byte ${this.position}`);
    return this.data[this.pos++];
  }
  bytes(n: number): Uint8Array {
    if (!Number.isSafeInteger(n) || n < 0 || this.pos + n > this.data.length) {
      throw this.errorFor(`a ${n}-byte field at byte ${this.position} runs past the end of the data (${this.base + this.data.length})`);
    }
    const out = this.data.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  line(): Uint8Array {
    const end = this.data.indexOf(0x0a, this.pos);
    if (end < 0) throw this.errorFor(`unterminated text field at byte ${this.position}`);
    const out = this.data.subarray(this.pos, end);
    this.pos = end + 1;
    return out;
  }
}

const MARK = Symbol('mark');
type Slot = PyValue | typeof MARK;

const latin1 = new TextDecoder('latin1');
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Options of {@link runPickle}. */
export interface RunPickleOptions {
  /** The file named in errors. */
  path: string;
  /** Where the pickle is, for messages (e.g. `archive/data.pkl`). */
  where?: string;
}

/** Largest memo index accepted (a memo is a map, so this only bounds nonsense). */
const MAX_MEMO = 2 ** 31;

/**
 * Runs a pickle to its STOP opcode and returns the top of the stack.
 *
 * @throws DiffaiError `ERR_PICKLE` for malformed data (naming the byte offset), or whatever the policy
 *   throws (the load policy throws `ERR_PICKLE_UNSAFE_GLOBAL`).
 */
export function runPickle(input: PickleInput, policy: PicklePolicy, options: RunPickleOptions): PyValue {
  const where = options.where ? ` (${options.where})` : '';
  const fail = (message: string): DiffaiError => new DiffaiError('ERR_PICKLE', `${options.path}${where}: malformed pickle: ${message}`, { file: options.path });
  let stack: Slot[] = [];
  const metastack: Slot[][] = [];
  const memo = new Map<number, PyValue>();

  const pop = (): PyValue => {
    if (stack.length === 0) throw fail(`stack underflow at byte ${input.position - 1}`);
    const v = stack.pop() as Slot;
    if (v === MARK) throw fail(`unexpected MARK at byte ${input.position - 1}`);
    return v;
  };
  const top = (): PyValue => {
    const v = stack[stack.length - 1];
    if (stack.length === 0 || v === MARK) throw fail(`stack underflow at byte ${input.position - 1}`);
    return v;
  };
  const popMark = (): PyValue[] => {
    const items = stack as PyValue[];
    const prev = metastack.pop();
    if (prev === undefined) throw fail(`no MARK for the opcode at byte ${input.position - 1}`);
    stack = prev;
    return items;
  };
  const text = (bytes: Uint8Array, encoding: 'utf8' | 'latin1'): string => {
    if (encoding === 'latin1') return latin1.decode(bytes);
    try {
      return utf8.decode(bytes);
    } catch {
      throw fail(`invalid UTF-8 string at byte ${input.position}`);
    }
  };
  const lineText = (): string => latin1.decode(input.line());
  const setItems = (dict: PyValue, items: PyValue[]): void => {
    // Scan mode builds nothing: items added to an opaque object are dropped.
    if (dict instanceof PyOpaque) return;
    if (!(dict instanceof PyDict)) throw fail(`SETITEM(S) on a ${describe(dict)} at byte ${input.position - 1}`);
    if (items.length % 2 !== 0) throw fail(`odd number of items for SETITEMS at byte ${input.position - 1}`);
    for (let i = 0; i < items.length; i += 2) dict.map.set(dictKey(items[i], fail), items[i + 1]);
  };
  const appendItems = (list: PyValue, items: PyValue[]): void => {
    if (list instanceof PyOpaque) return;
    if (Array.isArray(list)) list.push(...items);
    else if (list instanceof PySet) list.items.push(...items);
    else throw fail(`APPEND(S) on a ${describe(list)} at byte ${input.position - 1}`);
  };
  const memoGet = (key: number): PyValue => {
    if (!memo.has(key)) throw fail(`memo key ${key} not defined (byte ${input.position})`);
    return memo.get(key) as PyValue;
  };
  const memoPut = (key: number): void => {
    if (!Number.isSafeInteger(key) || key < 0 || key >= MAX_MEMO) throw fail(`bad memo key ${key}`);
    memo.set(key, top());
  };
  const view = (b: Uint8Array): DataView => new DataView(b.buffer, b.byteOffset, b.byteLength);
  const size64 = (b: Uint8Array): number => {
    const n = view(b).getBigUint64(0, true);
    if (n > BigInt(Number.MAX_SAFE_INTEGER)) throw fail(`length ${n} too large`);
    return Number(n);
  };
  const textInt = (s: string, at: number): number | bigint => {
    const t = s.trim().replace(/L$/, '');
    if (!/^[+-]?\d+$/.test(t)) throw fail(`bad integer literal ${JSON.stringify(s.slice(0, 40))} at byte ${at}`);
    const b = BigInt(t);
    return b >= BigInt(Number.MIN_SAFE_INTEGER) && b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b;
  };

  for (;;) {
    const at = input.position;
    const op = input.byte();
    switch (op) {
      case 0x80: {
        // PROTO
        const v = input.byte();
        if (v > 5) throw fail(`unsupported protocol ${v}`);
        break;
      }
      case 0x95: // FRAME: framing is only a read-ahead hint
        input.bytes(8);
        break;
      case 0x2e: // STOP
        if (metastack.length > 0) throw fail(`STOP inside an open MARK at byte ${at}`);
        return pop();
      case 0x28: // MARK
        metastack.push(stack);
        stack = [];
        break;
      case 0x30: // POP
        // Python's load_pop: an empty stack means the top item is a MARK.
        if (stack.length === 0 && metastack.length > 0) popMark();
        else pop();
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        stack.push(top());
        break;
      // ---- numbers
      case 0x4a: // BININT
        stack.push(view(input.bytes(4)).getInt32(0, true));
        break;
      case 0x4b: // BININT1
        stack.push(input.byte());
        break;
      case 0x4d: // BININT2
        stack.push(view(input.bytes(2)).getUint16(0, true));
        break;
      case 0x49: {
        // INT (text); I00 / I01 are False / True
        const s = lineText();
        if (s === '00') stack.push(false);
        else if (s === '01') stack.push(true);
        else stack.push(textInt(s, at));
        break;
      }
      case 0x4c: // LONG (text)
        stack.push(textInt(lineText(), at));
        break;
      case 0x8a: // LONG1
        stack.push(decodeLong(input.bytes(input.byte())));
        break;
      case 0x8b: {
        // LONG4
        const n = view(input.bytes(4)).getInt32(0, true);
        if (n < 0) throw fail(`negative LONG4 length at byte ${at}`);
        stack.push(decodeLong(input.bytes(n)));
        break;
      }
      case 0x46: {
        // FLOAT (text)
        const s = lineText().trim();
        const v = Number(s === 'nan' ? NaN : s === 'inf' ? Infinity : s === '-inf' ? -Infinity : s);
        if (Number.isNaN(v) && s.toLowerCase() !== 'nan') throw fail(`bad float literal at byte ${at}`);
        stack.push(v);
        break;
      }
      case 0x47: // BINFLOAT (big-endian)
        stack.push(view(input.bytes(8)).getFloat64(0, false));
        break;
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      // ---- strings and bytes
      case 0x53: {
        // STRING (text, quoted repr)
        stack.push(unquote(lineText(), fail, at));
        break;
      }
      case 0x54: {
        // BINSTRING
        const n = view(input.bytes(4)).getInt32(0, true);
        if (n < 0) throw fail(`negative BINSTRING length at byte ${at}`);
        stack.push(text(input.bytes(n), 'latin1'));
        break;
      }
      case 0x55: // SHORT_BINSTRING
        stack.push(text(input.bytes(input.byte()), 'latin1'));
        break;
      case 0x56: // UNICODE (raw-unicode-escape text)
        stack.push(rawUnicodeEscape(lineText()));
        break;
      case 0x58: // BINUNICODE
        stack.push(text(input.bytes(view(input.bytes(4)).getUint32(0, true)), 'utf8'));
        break;
      case 0x8c: // SHORT_BINUNICODE
        stack.push(text(input.bytes(input.byte()), 'utf8'));
        break;
      case 0x8d: // BINUNICODE8
        stack.push(text(input.bytes(size64(input.bytes(8))), 'utf8'));
        break;
      case 0x42: // BINBYTES
        stack.push(input.bytes(view(input.bytes(4)).getUint32(0, true)).slice());
        break;
      case 0x43: // SHORT_BINBYTES
        stack.push(input.bytes(input.byte()).slice());
        break;
      case 0x8e: // BINBYTES8
        stack.push(input.bytes(size64(input.bytes(8))).slice());
        break;
      case 0x96: // BYTEARRAY8
        stack.push(input.bytes(size64(input.bytes(8))).slice());
        break;
      case 0x97: // NEXT_BUFFER: out-of-band buffers are never supplied by a file
        throw fail(`NEXT_BUFFER (out-of-band buffer) at byte ${at} is not supported in a file`);
      case 0x98: // READONLY_BUFFER
        top();
        break;
      // ---- containers
      case 0x29: // EMPTY_TUPLE
        stack.push(new PyTuple([]));
        break;
      case 0x85: // TUPLE1
        stack.push(new PyTuple([pop()]));
        break;
      case 0x86: {
        // TUPLE2
        const b = pop();
        const a = pop();
        stack.push(new PyTuple([a, b]));
        break;
      }
      case 0x87: {
        // TUPLE3
        const c = pop();
        const b = pop();
        const a = pop();
        stack.push(new PyTuple([a, b, c]));
        break;
      }
      case 0x74: // TUPLE
        {
          const items = popMark();
          stack.push(new PyTuple(items));
        }
        break;
      case 0x5d: // EMPTY_LIST
        stack.push([]);
        break;
      case 0x6c: // LIST
        {
          const items = popMark();
          stack.push(items);
        }
        break;
      case 0x7d: // EMPTY_DICT
        stack.push(new PyDict());
        break;
      case 0x64: {
        // DICT
        const items = popMark();
        const d = new PyDict();
        setItems(d, items);
        stack.push(d);
        break;
      }
      case 0x8f: // EMPTY_SET
        stack.push(new PySet([]));
        break;
      case 0x91: // FROZENSET
        {
          const items = popMark();
          stack.push(new PySet(items));
        }
        break;
      case 0x90: {
        // ADDITEMS
        const items = popMark();
        appendItems(top(), items);
        break;
      }
      case 0x61: {
        // APPEND
        const v = pop();
        appendItems(top(), [v]);
        break;
      }
      case 0x65: {
        // APPENDS
        const items = popMark();
        appendItems(top(), items);
        break;
      }
      case 0x73: {
        // SETITEM
        const v = pop();
        const k = pop();
        setItems(top(), [k, v]);
        break;
      }
      case 0x75: {
        // SETITEMS
        const items = popMark();
        setItems(top(), items);
        break;
      }
      // ---- memo
      case 0x70: // PUT
        memoPut(Number(textInt(lineText(), at)));
        break;
      case 0x71: // BINPUT
        memoPut(input.byte());
        break;
      case 0x72: // LONG_BINPUT
        memoPut(view(input.bytes(4)).getUint32(0, true));
        break;
      case 0x94: // MEMOIZE
        memoPut(memo.size);
        break;
      case 0x67: // GET
        stack.push(memoGet(Number(textInt(lineText(), at))));
        break;
      case 0x68: // BINGET
        stack.push(memoGet(input.byte()));
        break;
      case 0x6a: // LONG_BINGET
        stack.push(memoGet(view(input.bytes(4)).getUint32(0, true)));
        break;
      // ---- globals, calls, objects
      case 0x63: {
        // GLOBAL (text "module\nname\n")
        const module = lineText();
        const name = lineText();
        stack.push(policy.global(module, name, 'GLOBAL', at));
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') throw fail(`STACK_GLOBAL needs two strings at byte ${at}`);
        stack.push(policy.global(module, name, 'STACK_GLOBAL', at));
        break;
      }
      case 0x69: {
        // INST (protocol 0): module\nname\n, args from MARK
        const module = lineText();
        const name = lineText();
        const cls = policy.global(module, name, 'INST', at);
        const items = popMark();
        stack.push(policy.call(cls, items, 'INST', at));
        break;
      }
      case 0x6f: {
        // OBJ: MARK cls args... OBJ
        const items = popMark();
        if (items.length === 0) throw fail(`OBJ without a class at byte ${at}`);
        stack.push(policy.call(items[0], items.slice(1), 'OBJ', at));
        break;
      }
      case 0x52: {
        // REDUCE
        const args = pop();
        const callee = pop();
        if (!(args instanceof PyTuple)) throw fail(`REDUCE arguments are a ${describe(args)}, not a tuple, at byte ${at}`);
        stack.push(policy.call(callee, args.items, 'REDUCE', at));
        break;
      }
      case 0x81: {
        // NEWOBJ
        const args = pop();
        const cls = pop();
        if (!(args instanceof PyTuple)) throw fail(`NEWOBJ arguments are a ${describe(args)}, not a tuple, at byte ${at}`);
        stack.push(policy.call(cls, args.items, 'NEWOBJ', at));
        break;
      }
      case 0x92: {
        // NEWOBJ_EX
        const kwargs = pop();
        const args = pop();
        const cls = pop();
        if (!(args instanceof PyTuple) || !(kwargs instanceof PyDict)) throw fail(`NEWOBJ_EX needs a tuple and a dict at byte ${at}`);
        stack.push(policy.call(cls, [...args.items, kwargs], 'NEWOBJ_EX', at));
        break;
      }
      case 0x62: {
        // BUILD
        const state = pop();
        const obj = pop();
        stack.push(policy.build(obj, state, at));
        break;
      }
      case 0x50: // PERSID (text)
        stack.push(policy.persistentLoad(lineText(), at));
        break;
      case 0x51: // BINPERSID
        stack.push(policy.persistentLoad(pop(), at));
        break;
      case 0x82: // EXT1
        stack.push(policy.extension(input.byte(), at));
        break;
      case 0x83: // EXT2
        stack.push(policy.extension(view(input.bytes(2)).getUint16(0, true), at));
        break;
      case 0x84: // EXT4
        stack.push(policy.extension(view(input.bytes(4)).getInt32(0, true), at));
        break;
      default:
        throw fail(`unknown opcode 0x${op.toString(16).padStart(2, '0')} at byte ${at}`);
    }
  }
}

/** A short description of a value's type for messages. */
export function describe(v: PyValue): string {
  if (v === null) return 'None';
  if (Array.isArray(v)) return 'list';
  if (v instanceof PyTuple) return 'tuple';
  if (v instanceof PyDict) return 'dict';
  if (v instanceof PyGlobal) return `global ${v.qualified}`;
  if (v instanceof Uint8Array) return 'bytes';
  if (typeof v === 'object') return (v as object).constructor?.name ?? 'object';
  return typeof v;
}

function dictKey(k: PyValue, fail: (m: string) => Error): string | number | bigint | boolean | null {
  if (k === null || typeof k === 'string' || typeof k === 'number' || typeof k === 'bigint' || typeof k === 'boolean') return k;
  if (k instanceof PyTuple) return `(${k.items.map((x) => String(x)).join(', ')})`;
  throw fail(`unhashable dict key of type ${describe(k)}`);
}

/** Two's-complement little-endian integer (LONG1 / LONG4); a number when safe, else a bigint. */
function decodeLong(bytes: Uint8Array): number | bigint {
  if (bytes.length === 0) return 0;
  let v = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[i]);
  if (bytes[bytes.length - 1] & 0x80) v -= 1n << BigInt(8 * bytes.length);
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

/** Decodes a protocol-0 STRING argument: a Python repr in single or double quotes. */
function unquote(s: string, fail: (m: string) => Error, at: number): string {
  const q = s[0];
  if (s.length < 2 || (q !== "'" && q !== '"') || s[s.length - 1] !== q) throw fail(`STRING argument not quoted at byte ${at}`);
  const body = s.slice(1, -1);
  return body.replace(/\\(x[0-9a-fA-F]{2}|[0-7]{1,3}|.)/g, (_m, e: string) => {
    if (e[0] === 'x') return String.fromCharCode(parseInt(e.slice(1), 16));
    if (/^[0-7]/.test(e)) return String.fromCharCode(parseInt(e, 8));
    const map: Record<string, string> = { n: '\n', r: '\r', t: '\t', '\\': '\\', "'": "'", '"': '"', a: '\x07', b: '\b', f: '\f', v: '\v' };
    return map[e] ?? `\\${e}`;
  });
}

/** Decodes Python's raw-unicode-escape (only `\uXXXX` and `\UXXXXXXXX` are escapes). */
function rawUnicodeEscape(s: string): string {
  return s.replace(/\\u([0-9a-fA-F]{4})|\\U([0-9a-fA-F]{8})/g, (_m, a: string | undefined, b: string | undefined) =>
    String.fromCodePoint(parseInt((a ?? b) as string, 16)),
  );
}
