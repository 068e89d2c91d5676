// The seeds' app.js (004): an HTTP server answering with its pid, on PORT (3000 by default, as in the seed).
const http = require('http');
const server = http.createServer((req, res) => {
  res.write(`hello world, start with cluster ${process.pid}`);
  res.end();
});
server.listen(process.env.PORT || 3000, () => {
  console.log(`server start http://127.0.0.1:${process.env.PORT || 3000}`);
});
console.log(`Worker ${process.pid} started`);
