/**
 * The suite runs once per backend, in the manner of libuv's TEST_FS_IMPL: `forEachBackend`
 * opens a `describe` block per backend, and a backend this machine lacks is skipped with the
 * reason it reported, so the run says what was not tested and why.
 */
import { describe } from 'node:test';
import { backends, type BackendName } from '../../src/index.js';

const only = process.env.AIOFS_TEST_BACKEND as BackendName | undefined;

export function forEachBackend(title: string, body: (backend: BackendName) => void): void {
  for (const info of backends()) {
    if (only && info.name !== only) continue;
    const skip = info.available ? false : `${info.name} backend unavailable: ${info.reason}`;
    describe(`${title} [${info.name}]`, { skip }, () => body(info.name));
  }
}
