/**
 * The check every input goes through before it is opened: it must exist and be a regular file.
 * Opening a FIFO or a character device would block or read without end; mapping needs a regular file.
 *
 * @module
 */
import { statSync } from 'node:fs';
import { DiffaiError } from '../errors.js';

/**
 * @throws DiffaiError `ERR_FILE_NOT_FOUND` when `path` does not exist, `ERR_FILE_IO` when it is not a
 *   regular file (a directory, FIFO, socket or device) or cannot be inspected.
 */
export function assertRegularFile(path: string): void {
  let kind: string;
  try {
    const st = statSync(path);
    if (st.isFile()) return;
    kind = st.isDirectory() ? 'a directory' : st.isFIFO() ? 'a FIFO' : st.isSocket() ? 'a socket' : st.isCharacterDevice() || st.isBlockDevice() ? 'a device' : 'not a regular file';
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new DiffaiError('ERR_FILE_NOT_FOUND', `${path}: no such file or directory`, { file: path, cause });
    throw new DiffaiError('ERR_FILE_IO', `${path}: cannot read (${(cause as Error).message})`, { file: path, cause });
  }
  throw new DiffaiError('ERR_FILE_IO', `${path}: ${kind}, not a regular file; diffai reads model files`, { file: path });
}
