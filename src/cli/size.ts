/** Sizes as people write them: 4096, 64K, 1M, 1.5G, 1GiB. */
import { CliError } from './errors.js';

export function parseSize(text: string, option: string, usage: string): number {
  const match = /^(\d+(?:\.\d+)?)([kmgt]?)(?:i?b)?$/i.exec(text.trim());
  if (!match) throw new CliError(`${option}: '${text}' is not a size (examples: 4096, 64K, 1M, 1G)`, usage);
  const unit = { '': 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 }[match[2].toLowerCase() as '' | 'k' | 'm' | 'g' | 't'];
  return Math.floor(Number(match[1]) * unit);
}
