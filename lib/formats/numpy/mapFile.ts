/**
 * Maps a file with the native addon. The addon module is imported on first use, so parsers (and their
 * tests, which pass an fs-backed stand-in) do not load the native build until a file is really opened.
 *
 * @module
 */
import type { NativeMappedFile } from '../../native/AddonTypes.js';
import { assertRegularFile } from '../assertRegularFile.js';

/**
 * Maps a file through the native addon (`new addon().MappedFile(path)`).
 * @throws DiffaiError `ERR_FILE_IO` for anything but a regular file (a FIFO would block), or the addon's errors.
 */
export async function mapFile(path: string): Promise<NativeMappedFile> {
  assertRegularFile(path);
  const { addon } = await import('../../native/loadAddon.js');
  return new (addon().MappedFile)(path);
}

/** How readers map files; tests pass an fs-backed stand-in. */
export type FileMapper = (path: string) => NativeMappedFile | Promise<NativeMappedFile>;
