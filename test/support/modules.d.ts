/** Koa ships no types: what the tests call of it. */
declare module 'koa' {
  import type { Server } from 'node:http';
  export default class Koa {
    use(middleware: (ctx: never, next: () => Promise<unknown>) => unknown): this;
    listen(port: number, host: string): Server;
  }
}
