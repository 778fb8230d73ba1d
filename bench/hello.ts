// The machine's ceiling: a bare Fastify server answering GET / with {hello:'world'}.
import Fastify from 'fastify';

const app = Fastify({ logger: false });
app.get('/', async () => ({ hello: 'world' }));
app.get('/ready', async () => ({ status: 'ready' }));
await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT ?? 3000) });
process.once('SIGTERM', () => void app.close().then(() => process.exit(0)));
