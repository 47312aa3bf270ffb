// A tus 1.0 server for libkitsu's tests: @tus/server with @tus/file-store,
// unchanged, on 127.0.0.1. The only addition is a request log (one JSON
// line per request: method, path, Upload-Offset, Content-Length,
// Upload-Metadata, status),
// which the tests read to see what a resumed upload sent again.
//   TUS_PORT, TUS_DIR (uploads), TUS_LOG (the request log)
const http = require('http');
const fs = require('fs');
const { Server } = require('@tus/server');
const { FileStore } = require('@tus/file-store');

const port = Number(process.env.TUS_PORT);
const directory = process.env.TUS_DIR;
const log = fs.createWriteStream(process.env.TUS_LOG, { flags: 'a' });

const tus = new Server({ path: '/files', datastore: new FileStore({ directory }) });

http.createServer((req, res) => {
  res.on('finish', () => {
    log.write(JSON.stringify({
      method: req.method,
      url: req.url,
      offset: req.headers['upload-offset'] ?? null,
      length: req.headers['content-length'] ?? null,
      metadata: req.headers['upload-metadata'] ?? null,
      status: res.statusCode,
    }) + '\n');
  });
  tus.handle(req, res);
}).listen(port, '127.0.0.1', () => console.log(`tus server on http://127.0.0.1:${port}/files`));
