/**
 * Tests that change the host for every process on it (a sysctl such as
 * kernel.io_uring_disabled, a mount) run only under `npm run test:host`, never in `npm test`:
 * a user's machine must not feel the suite. Returns why such a test is skipped, or false.
 */
export function hostChangesRefused(): string | false {
  return process.env.AIOFS_HOST_TESTS === '1' ? false : 'changes the host for other processes: run with npm run test:host';
}
