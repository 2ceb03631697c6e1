/**
 * Progress on stderr: a live bar (cli-progress) when stderr is a terminal, nothing in between
 * otherwise, so that logs and CI output stay clean.
 */
import cliProgress from 'cli-progress';

export interface Progress {
  /** Set the amount done so far (and, for the bench, what is running now). */
  update(done: number, what?: string): void;
  stop(): void;
}

function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

const silent: Progress = { update: () => {}, stop: () => {} };

/** Bytes of a copy: amount, throughput and time left. */
export function byteProgress(total: number, label: string): Progress {
  if (!process.stderr.isTTY) return silent;
  const started = performance.now();
  const bar = new cliProgress.SingleBar(
    {
      format: `${label} [{bar}] {percentage}% | {done} of {size} | {speed}/s | ETA {eta_formatted}`,
      stream: process.stderr,
      hideCursor: true,
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0, { done: bytes(0), size: bytes(total), speed: bytes(0) });
  return {
    update(done) {
      const seconds = (performance.now() - started) / 1000;
      bar.update(done, { done: bytes(done), speed: bytes(seconds > 0 ? done / seconds : 0) });
    },
    stop: () => bar.stop(),
  };
}

/** Steps of a run (the benchmark's drivers): how many are done and which one is running. */
export function stepProgress(total: number, label: string): Progress {
  if (!process.stderr.isTTY) return silent;
  const bar = new cliProgress.SingleBar(
    { format: `${label} [{bar}] {value}/{total} | {what}`, stream: process.stderr, hideCursor: true },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0, { what: '' });
  return { update: (done, what) => bar.update(done, { what: what ?? '' }), stop: () => bar.stop() };
}
