// HTTP hello app for the cluster scenarios: answers 'hello' on $PORT.
const http = require('http');
http.createServer((req, res) => res.end('hello')).listen(Number(process.env.PORT || 3000));
