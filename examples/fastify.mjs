// Fastify with @fastify/static, unchanged: preloading aiofs/register puts aiofs behind the
// node:fs calls @fastify/static (and everything else in the process) makes.
//
//   npm install fastify @fastify/static aiofs
//   node --import aiofs/register examples/fastify.mjs [DIR] [PORT]
//
// `npx aiofs doctor` run the same way (NODE_OPTIONS='--import aiofs/register') says what it replaced.
import path from 'node:path';
import fastifyStatic from '@fastify/static';
import Fastify from 'fastify';

const root = path.resolve(process.argv[2] ?? '.');
const port = Number(process.argv[3] ?? 8080);

const app = Fastify();
await app.register(fastifyStatic, { root });
const address = await app.listen({ port, host: '127.0.0.1' });
console.log(`serving ${root} on ${address}`);
