/** Every benchmark case, in the order a run goes through them. */
import type { Case } from './case.js';
import { copyCases } from './copy.js';
import { directSeqCases } from './direct-seq.js';
import { linesCase } from './lines.js';
import { mixedCase } from './mixed.js';
import { randomReadCases } from './randread.js';
import { seqReadCase } from './seqread.js';
import { registerServeCases, registerTreeCase } from './register.js';
import { precompressedCase, serveCases } from './serve.js';
import { smallFilesCases } from './smallfiles.js';
import { writeCase } from './write-seq.js';

export const cases: readonly Case<any>[] = [...randomReadCases, seqReadCase, ...directSeqCases, linesCase, writeCase, ...copyCases, ...smallFilesCases, mixedCase, ...serveCases, precompressedCase, registerTreeCase, ...registerServeCases];

export function caseNamed(name: string): Case<any> {
  const found = cases.find((c) => c.name === name);
  if (!found) throw new Error(`unknown case ${name}`);
  return found;
}
