/**
 * Security scan of one pickle: every global it names that is not on the allow-list, found by running
 * the pickle machine with a policy that records and never builds anything.
 *
 * @module
 */
import { isDiffaiError } from '../../errors.js';
import { PyOpaque, runPickle, type PickleInput, type PicklePolicy } from './pickleMachine.js';
import { classifyGlobal, globalSeverity } from './torchGlobals.js';

/** One refused global found in a pickle. */
export interface ScanFinding {
  /** The pickle it was found in: a zip entry name, `legacy pickle N`, or `pickle`. */
  readonly where: string;
  /** `module.name`, e.g. `os.system`; `extension code N` for EXT opcodes. */
  readonly global: string;
  /** GLOBAL, STACK_GLOBAL, INST or EXT. */
  readonly opcode: string;
  /** Byte offset of the opcode (in the zip entry, or in the file for the legacy format and plain pickles). */
  readonly offset: number;
  /** `dangerous`: runs code, touches files, processes or the network; `unknown`: not a tensor or container type. */
  readonly severity: 'dangerous' | 'unknown';
}

/** Result of scanning one pickle. */
export interface PickleScan {
  readonly findings: ScanFinding[];
  /** Set when the pickle is malformed (findings before the error are still listed). */
  readonly error?: string;
}

/**
 * Scans the pickle at the input's position up to its STOP. Never throws for malformed data: the
 * message goes to `error`.
 */
export function scanPickle(input: PickleInput, path: string, where: string): PickleScan {
  const findings: ScanFinding[] = [];
  const policy: PicklePolicy = {
    global(module, name, opcode, offset) {
      if (classifyGlobal(module, name) === 'refused') {
        findings.push({ where, global: `${module}.${name}`, opcode, offset, severity: globalSeverity(module, name) });
      }
      return new PyOpaque(null, `${module}.${name}`);
    },
    persistentLoad: (pid) => new PyOpaque(null, pid),
    call: (callee, args) => new PyOpaque(callee, args),
    build: (obj) => obj,
    extension(code, offset) {
      findings.push({ where, global: `extension code ${code}`, opcode: 'EXT', offset, severity: 'unknown' });
      return new PyOpaque(null, code);
    },
  };
  try {
    runPickle(input, policy, { path, where });
    return { findings };
  } catch (e) {
    if (isDiffaiError(e) || e instanceof Error) return { findings, error: (e as Error).message };
    throw e;
  }
}
