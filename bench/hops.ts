/**
 * bench:hops — what one hop between two processes costs on this machine:
 * a client and an echo server in two processes ping-pong 100-byte messages,
 * one at a time, over loopback TCP and over a Unix socket, at a low rate (the
 * contests' load per instance: each message finds the other process asleep)
 * and at a high one (it rarely sleeps). It prints the CPU each side spends
 * per message, from /proc. A request through nginx → instance → PostgreSQL
 * makes four such hops where a bare server behind nginx makes two, so on a
 * machine where waking an idle process is dear, the per-hop figure at the low
 * rate is the floor under every ratio the other benches measure.
 * Env: BENCH_RATES ("300,3000"), BENCH_SECONDS (5).
 */
import { fork } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const cpuTicks = (pid: number): number => {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
};
const TICK_US = 10_000;

if (process.argv[2] === 'echo') {
  const address = process.argv[3] as string;
  const server = net.createServer((socket) => {
    socket.setNoDelay(true);
    socket.on('data', (chunk) => socket.write(chunk));
  });
  const port = Number(address);
  if (Number.isInteger(port)) server.listen(port, '127.0.0.1', () => process.send?.('up'));
  else server.listen(address, () => process.send?.('up'));
} else {
  const rates = (process.env.BENCH_RATES ?? '300,3000').split(',').map(Number);
  const seconds = Number(process.env.BENCH_SECONDS ?? 5);
  const socketPath = join(tmpdir(), `armazem-hops-${process.pid}.sock`);
  const transports = [
    { name: 'loopback TCP', address: '3979' },
    { name: 'Unix socket', address: socketPath },
  ];
  console.log(`bench:hops — one message at a time, ${seconds} s per line; CPU per message from /proc`);
  for (const t of transports) {
    const server = fork(fileURLToPath(import.meta.url), ['echo', t.address]);
    await new Promise((resolve) => server.once('message', resolve));
    const port = Number(t.address);
    const socket = Number.isInteger(port) ? net.connect(port, '127.0.0.1') : net.connect(t.address);
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.setNoDelay(true);
    let answered: () => void = () => {};
    socket.on('data', () => answered());
    const message = 'x'.repeat(100);
    const once = () =>
      new Promise<void>((resolve) => {
        answered = resolve;
        socket.write(message);
      });
    for (let i = 0; i < 200; i++) await once();
    for (const rate of rates) {
      const n = rate * seconds;
      const client0 = cpuTicks(process.pid);
      const server0 = cpuTicks(server.pid as number);
      const start = performance.now();
      for (let i = 0; i < n; i++) {
        const wait = start + (i * 1000) / rate - performance.now();
        if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
        await once();
      }
      const perMessage = (ticks: number) => ((ticks * TICK_US) / n).toFixed(0).padStart(4);
      console.log(
        `${t.name.padEnd(12)} ${String(rate).padStart(5)} messages/s: server ${perMessage(cpuTicks(server.pid as number) - server0)} µs, client ${perMessage(cpuTicks(process.pid) - client0)} µs per message`,
      );
    }
    socket.destroy();
    server.kill();
  }
  rmSync(socketPath, { force: true });
}
