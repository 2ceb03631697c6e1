/** The benchmark's peers that ship no types: only what bench/serve*.ts calls. */
declare module 'serve-static' {
  import type { IncomingMessage, ServerResponse } from 'node:http';
  export default function serveStatic(root: string, options?: { index?: string | false }): (req: IncomingMessage, res: ServerResponse, next: () => void) => void;
}
declare module 'autocannon' {
  interface Result {
    requests: { total: number; average: number };
    throughput: { total: number; average: number };
    non2xx: number;
    errors: number;
    timeouts: number;
  }
  export default function autocannon(options: { url: string; connections: number; duration: number; headers?: Record<string, string> }): Promise<Result>;
}
