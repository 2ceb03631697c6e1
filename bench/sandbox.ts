/**
 * The sandbox containers give a process (for the tests, and `aiofs bench --sandbox docker`):
 * Docker's default seccomp profile without io_uring_setup, io_uring_enter and io_uring_register,
 * which is what Docker 25 changed (moby/moby#46762; containerd and Kubernetes' RuntimeDefault
 * refuse them alike). The allowlist is read from Docker's own profiles/seccomp/default.json
 * (Debian: golang-github-docker-docker-dev, Docker 20.10's; Docker 25's may differ in other
 * calls; AIOFS_DOCKER_PROFILE names another copy) and applied per process by
 * bench/container-sandbox.c (libseccomp; Debian: libseccomp-dev), never to the host. Everything
 * outside the list fails with EPERM, as in a container; calls newer than the list fail with
 * ENOSYS, as runc answers them (cachestat, on this list).
 *
 * As a container without added capabilities: rules that need a capability are left out, rules
 * for another architecture too; rules that allow a call only with some arguments (personality,
 * clone without namespace flags) allow it whatever its arguments, which is more than Docker
 * allows, never less. clone3 fails with ENOSYS, Docker's answer, so that the C library falls
 * back to clone.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const debianProfile = '/usr/share/gocode/src/github.com/docker/docker/profiles/seccomp/default.json';
const source = fileURLToPath(new URL('../../bench/container-sandbox.c', import.meta.url));
const IO_URING = ['io_uring_setup', 'io_uring_enter', 'io_uring_register'];
const ENOSYS = 38;

interface Rule {
  names: string[];
  action: string;
  errnoRet?: number;
  includes?: { caps?: string[]; arches?: string[]; minKernel?: string };
  excludes?: { caps?: string[]; arches?: string[] };
}

/** Docker's architecture names for this process's. */
const dockerArches: Record<string, string[]> = { x64: ['amd64', 'x32', 'x86'], arm64: ['arm64', 'arm'] };

/** The rules file container-sandbox.c takes, from Docker's profile: what it allows here, less `refused`. */
export function rulesOf(profile: { syscalls: Rule[] }, refused: readonly string[] = IO_URING): string {
  const arches = dockerArches[process.arch] ?? [];
  const allowed = new Set<string>();
  for (const rule of profile.syscalls) {
    if (rule.action !== 'SCMP_ACT_ALLOW') continue;
    if (rule.includes?.caps?.length) continue;
    if (rule.includes?.arches?.length && !rule.includes.arches.some((a) => arches.includes(a))) continue;
    if (rule.excludes?.arches?.some((a) => arches.includes(a))) continue;
    for (const name of rule.names) allowed.add(name);
  }
  for (const name of refused) allowed.delete(name);
  allowed.delete('clone3');
  return [...[...allowed].sort(), `clone3 ${ENOSYS}`].join('\n') + '\n';
}

export type Sandbox = { command: (argv: string[]) => string[]; rules: string } | { skip: string };

let made: Sandbox | undefined;

/**
 * The sandbox, made once per process: `command(argv)` is argv run under it. `refused` names the
 * calls taken out of Docker's list (default: the three of io_uring, as Docker 25+). A skip
 * reason where Linux, Docker's profile, a C compiler or libseccomp is missing.
 */
export function containerSandbox(refused: readonly string[] = IO_URING): Sandbox {
  if (made && refused === IO_URING) return made;
  const sandbox = makeSandbox(refused);
  if (refused === IO_URING) made = sandbox;
  return sandbox;
}

function makeSandbox(refused: readonly string[]): Sandbox {
  if (process.platform !== 'linux') return { skip: 'seccomp sandboxes are Linux' };
  const profilePath = process.env.AIOFS_DOCKER_PROFILE || debianProfile;
  if (!fs.existsSync(profilePath)) return { skip: `no Docker seccomp profile at ${profilePath} (apt-get install golang-github-docker-docker-dev, or set AIOFS_DOCKER_PROFILE)` };
  let rules: string;
  try {
    const profile = JSON.parse(fs.readFileSync(profilePath, 'utf8')) as { syscalls?: unknown };
    if (!Array.isArray(profile.syscalls)) throw new Error('it has no "syscalls" list');
    rules = rulesOf(profile as { syscalls: Rule[] }, refused);
  } catch (error) {
    return { skip: `${profilePath} is no Docker seccomp profile: ${(error as Error).message}` };
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aiofs-sandbox-'));
  const binary = path.join(dir, 'container-sandbox');
  const cc = process.env.CC || 'cc';
  const built = spawnSync(cc, ['-O2', '-Wall', '-Wextra', '-o', binary, source, '-lseccomp'], { encoding: 'utf8' });
  if (built.status !== 0) {
    fs.rmSync(dir, { recursive: true, force: true });
    const why = built.error ? `no C compiler at ${cc} (apt-get install gcc, or set CC)` : `${cc} cannot build it with libseccomp (apt-get install libseccomp-dev)`;
    return { skip: `cannot build the sandbox: ${why}: ${(built.stderr || built.error?.message || '').trim().split('\n')[0]}` };
  }
  fs.writeFileSync(path.join(dir, 'rules'), rules);
  process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  return { command: (argv) => [binary, path.join(dir, 'rules'), ...argv], rules: path.join(dir, 'rules') };
}

/** Whether this process runs under a seccomp filter (`Seccomp: 2` in /proc/self/status). */
export function inSeccompFilter(): boolean {
  try {
    return /^Seccomp:\s*2$/m.test(fs.readFileSync('/proc/self/status', 'utf8'));
  } catch {
    return false;
  }
}
