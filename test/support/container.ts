/** The container sandbox of bench/sandbox.ts, for the tests (test/container.test.ts). */
export { containerSandbox, rulesOf, type Sandbox } from '../../bench/sandbox.js';
