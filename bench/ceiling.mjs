// The ceiling: bare node:http reading a form POST and answering fixed JSON, what one core can do
// per request before any OAuth work.   node bench/ceiling.mjs PORT   (or CEILING_PORT)
import { createServer } from 'node:http';

const port = Number(process.argv[2] ?? process.env.CEILING_PORT ?? 3200);
const json = JSON.stringify({ access_token: 'x', token_type: 'Bearer', expires_in: 3600 });
createServer((req, res) => {
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (chunk) => {
    body += chunk;
  });
  req.on('end', () => {
    const [status, out] = new URLSearchParams(body).has('grant_type') ? [200, json] : [400, '{}'];
    const headers = { 'content-type': 'application/json', 'content-length': out.length };
    res.writeHead(status, { ...headers, 'cache-control': 'no-store' }).end(out);
  });
}).listen(port, '127.0.0.1');
