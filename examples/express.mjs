// Express 5: aiofs/http's serveStatic in place of express.static, and a route that reads with
// aiofs/promises, which has node:fs/promises' functions, options, results and errors.
//
//   npm install express aiofs
//   node examples/express.mjs [DIR] [PORT]
//
// To keep express.static itself and still read on io_uring, preload aiofs/register instead:
//   node --import aiofs/register app.mjs
import path from 'node:path';
import express from 'express';
import { serveStatic } from 'aiofs/http';
import { stat } from 'aiofs/promises';

const root = path.resolve(process.argv[2] ?? '.');
const port = Number(process.argv[3] ?? 8080);
const app = express();

// The size and age of a file of the root, by name.
app.get('/api/stat/:name', async (req, res) => {
  try {
    const stats = await stat(path.join(root, path.basename(req.params.name)));
    res.json({ size: stats.size, modified: stats.mtime });
  } catch (error) {
    if (error.code !== 'ENOENT') throw error; // Express 5 hands a rejection to its error handler
    res.status(404).json({ error: `no file named ${req.params.name}` });
  }
});

// Files under the root; a miss goes on to the next handler (here Express's own 404).
app.use(serveStatic(root));

const server = app.listen(port, '127.0.0.1', () => {
  console.log(`serving ${root} on http://127.0.0.1:${server.address().port}`);
});
