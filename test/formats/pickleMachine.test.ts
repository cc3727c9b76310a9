import { describe, expect, it } from 'vitest';
import { DiffaiError } from '../../lib/errors.js';
import { BufferInput, PyDict, PyTuple, runPickle, type PyValue } from '../../lib/formats/pytorch/pickleMachine.js';
import { createLoadPolicy } from '../../lib/formats/pytorch/torchGlobals.js';
import { pickleBytes } from './zipWriter.js';

const policy = createLoadPolicy({
  path: 'test.pkl',
  where: 'test',
  persistentLoad: (pid) => pid,
});
const run = (...parts: (string | number[])[]): PyValue => runPickle(new BufferInput(pickleBytes(...parts), (m) => new DiffaiError('ERR_PICKLE', m)), policy, { path: 'test.pkl' });
const fails = (code: string, ...parts: (string | number[])[]): string => {
  try {
    run(...parts);
  } catch (e) {
    expect((e as DiffaiError).code).toBe(code);
    return (e as Error).message;
  }
  throw new Error('no error');
};

describe('pickle machine', () => {
  it('reads protocol 0 text opcodes', () => {
    const v = run("(dp0\nS'a'\np1\nI42\nsS'b'\np2\nF1.5\nsS'c'\np3\nL12345678901234567890L\nsS'd'\np4\nI01\nsS'e'\nVcaf\\u00e9\nsS'f'\ng1\ns.");
    expect(v).toBeInstanceOf(PyDict);
    const d = v as PyDict;
    expect(d.map.get('a')).toBe(42);
    expect(d.map.get('b')).toBe(1.5);
    expect(d.map.get('c')).toBe(12345678901234567890n);
    expect(d.map.get('d')).toBe(true);
    expect(d.map.get('e')).toBe('café');
    expect(d.map.get('f')).toBe('a');
  });

  it('reads binary numbers, strings, bytes, tuples, lists, sets and the memo', () => {
    const v = run('\x80\x04\x95', [0, 0, 0, 0, 0, 0, 0, 0], ']\x94(K\x01M\x00\x01J\xff\xff\xff\xff\x8a\x01\xff\x8c\x03abc\x94C\x02\x01\x02\x88\x89N\x87\x94h\x00\x8f(K\x01\x90e.');
    expect(Array.isArray(v)).toBe(true);
    const l = v as PyValue[];
    expect(l.slice(0, 5)).toEqual([1, 256, -1, -1, 'abc']);
    expect(l[5]).toEqual(new Uint8Array([1, 2]));
    expect(l[6]).toBeInstanceOf(PyTuple);
    expect((l[6] as PyTuple).items).toEqual([true, false, null]);
  });

  it('keeps integers above 2^53 exact as bigint (the legacy torch magic number)', () => {
    expect(run('\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19.')).toBe(0x1950a86a20f9469cfc6cn);
    expect(run('\x80\x02\x8a\x09', [0, 0, 0, 0, 0, 0, 0, 0, 0x80], '.')).toBe(-(2n ** 71n));
  });

  it('decodes BINFLOAT as big-endian', () => {
    expect(run('\x80\x02G\x3f\xf8\x00\x00\x00\x00\x00\x00.')).toBe(1.5);
  });

  it.each([
    ['stack underflow', ['\x80\x02R.'], 'stack underflow'],
    ['undefined memo key', ['\x80\x02h\x05.'], 'memo key 5'],
    ['unknown opcode', ['\x80\x02\xff.'], 'unknown opcode 0xff'],
    ['truncated data', ['\x80\x02X\x10\x00\x00\x00abc'], 'runs past the end'],
    ['no STOP', ['\x80\x02K\x01'], 'unexpected end of data'],
    ['unsupported protocol', ['\x80\x09.'], 'protocol 9'],
    ['TUPLE without MARK', ['\x80\x02K\x01t.'], 'no MARK'],
    ['STOP inside MARK', ['\x80\x02(K\x01.'], 'STOP inside an open MARK'],
    ['SETITEM on a list', ['\x80\x02]K\x01K\x02s.'], 'SETITEM(S) on a list'],
    ['REDUCE on a non-global', ['\x80\x02K\x01)R.'], 'not an allowed callable'],
    ['out-of-band buffer', ['\x80\x05\x97.'], 'NEXT_BUFFER'],
    ['invalid UTF-8', ['\x80\x02X\x01\x00\x00\x00\xff.'], 'invalid UTF-8'],
    ['bad text integer', ['I1x2\n.'], 'bad integer literal'],
    ['unhashable key', ['\x80\x02}]K\x01s.'], 'unhashable'],
  ])('%s is ERR_PICKLE', (_label, parts, message) => {
    expect(fails('ERR_PICKLE', ...(parts as string[]))).toContain(message);
  });

  it.each([
    ['GLOBAL', 'cos\nsystem\n.'],
    ['STACK_GLOBAL', '\x80\x04\x8c\x02os\x8c\x06system\x93.'],
    ['INST', '(S\'x\'\nibuiltins\neval\n.'],
    ['a torch global outside the allow-list', '\x80\x02ctorch\nload\n.'],
    ['a look-alike module', '\x80\x02ccollections.abc\nOrderedDict\n.'],
  ])('%s of a global outside the allow-list is ERR_PICKLE_UNSAFE_GLOBAL', (_label, bytes) => {
    expect(fails('ERR_PICKLE_UNSAFE_GLOBAL', bytes)).toMatch(/refused to load: the pickle names the global/);
  });

  it('refuses sparse tensors as unsupported, not as unsafe', () => {
    expect(fails('ERR_PICKLE', '\x80\x02ctorch._utils\n_rebuild_sparse_tensor\n.')).toContain('does not compare');
  });
});
