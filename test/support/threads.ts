/** The threads of this process, as Linux names them (/proc/self/task/TID/comm). */
import fs from 'node:fs';

/**
 * The ids of this process's threads whose name passes `match` (names without the newline). A
 * thread that ends between the listing and the read of its name is left out.
 */
export function threadsNamed(match: (name: string) => boolean): string[] {
  const found: string[] = [];
  for (const task of fs.readdirSync('/proc/self/task')) {
    let name: string;
    try {
      name = fs.readFileSync(`/proc/self/task/${task}/comm`, 'utf8').trim();
    } catch {
      continue;
    }
    if (match(name)) found.push(task);
  }
  return found;
}
