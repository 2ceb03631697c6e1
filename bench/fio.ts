/** fio, the physical limit: run it with the same block size, depth and caching as a case. */
import { execFileSync, spawnSync } from 'node:child_process';

export function fioVersion(): string | undefined {
  try {
    return execFileSync('fio', ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
}

export interface FioJob {
  /** 'randread' (the default), 'read' (sequential) or 'write' (sequential, over the existing file). */
  rw?: 'randread' | 'read' | 'write';
  file: string;
  size: number;
  engine: string;
  depth: number;
  blockSize: number;
  direct: boolean;
  seconds: number;
  /** io_uring only: a kernel thread polls the submission queue (`--sqthread_poll=1`). */
  sqpoll?: boolean;
}

/** A job's IOPS and bandwidth; `--invalidate=0` keeps the page cache that cached cases rely on. */
export function fioRead(job: FioJob): { iops: number; bytesPerSecond: number } {
  const args = [
    '--name=aiofs-bench',
    `--filename=${job.file}`,
    `--size=${job.size}`,
    '--time_based',
    `--runtime=${job.seconds}`,
    '--ramp_time=0.3',
    '--invalidate=0',
    `--rw=${job.rw ?? 'randread'}`,
    `--bs=${job.blockSize}`,
    `--ioengine=${job.engine}`,
    `--iodepth=${job.depth}`,
    `--direct=${job.direct ? 1 : 0}`,
    '--output-format=json',
    ...(job.sqpoll ? ['--sqthread_poll=1'] : []),
  ];
  const run = spawnSync('fio', args, { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (run.status !== 0) throw new Error(`fio ${job.engine} failed: ${run.stderr.trim() || run.error}`);
  const report = JSON.parse(run.stdout.slice(run.stdout.indexOf('{')));
  const result = report.jobs[0][job.rw === 'write' ? 'write' : 'read'] as { iops: number; bw_bytes: number };
  return { iops: result.iops, bytesPerSecond: result.bw_bytes };
}
