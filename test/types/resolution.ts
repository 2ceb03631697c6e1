// Compiled by test/types.test.ts under each module resolution a TypeScript project may use
// (node10, the default of `"module": "commonjs"`; bundler; nodenext): every entry point resolves
// to its declarations, by the package's exports or, for node10, its typesVersions.
import type * as node from 'node:fs/promises';
import * as aiofs from 'aiofs/promises';
import { serveStatic } from 'aiofs/http';
import { registration } from 'aiofs/register';
import { createContext, registration as askedOfMain } from 'aiofs';

export const readFile: typeof node.readFile = aiofs.readFile;
export const handler: (request: import('node:http').IncomingMessage, response: import('node:http').ServerResponse) => unknown = serveStatic('.');
export const registered: boolean | undefined = registration()?.active ?? askedOfMain()?.active;
export const backend: string = createContext().backend;
