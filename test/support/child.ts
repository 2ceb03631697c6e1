/**
 * Running a program as a child process from a test, so that a crash or a hang in it is that
 * test's failure with the program's output, not a lost test run.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

export interface ChildOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Milliseconds before the child is killed (which then fails). */
  timeout: number;
}

/** Run `command` to its end; fails unless it exited by itself with status 0. */
export function runChecked(command: string, args: string[], options: ChildOptions): { stdout: string; stderr: string } {
  const child = spawnSync(command, args, { ...options, encoding: 'utf8' });
  const output = `${command} ${args.join(' ')}\nstdout:\n${child.stdout}\nstderr:\n${child.stderr}`;
  assert.equal(child.signal, null, `killed by ${child.signal} (a crash, or a hang past the timeout)\n${output}`);
  assert.equal(child.status, 0, output);
  return { stdout: child.stdout, stderr: child.stderr };
}
