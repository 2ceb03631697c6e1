// Fastify with aiofs/http's own plugin, fastifyStatic: the files under DIR at /static/, and
// reply.sendFile for a route of your own. Responses go through Fastify (its hooks, its logging,
// its 404 handler), as with @fastify/static.
//
//   npm install fastify aiofs
//   node examples/fastify-plugin.mjs [DIR] [PORT]
import path from 'node:path';
import Fastify from 'fastify';
import { fastifyStatic } from 'aiofs/http';

const root = path.resolve(process.argv[2] ?? '.');
const port = Number(process.argv[3] ?? 8080);

const app = Fastify();
await app.register(fastifyStatic, { root, prefix: '/static/', maxAge: '1h' });
app.get('/', (request, reply) => reply.sendFile('index.html'));
app.setNotFoundHandler((request, reply) => reply.code(404).send({ error: `nothing at ${request.url}` }));
const address = await app.listen({ port, host: '127.0.0.1' });
console.log(`serving ${root} on ${address}/static`);
