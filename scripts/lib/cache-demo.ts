const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Clears the cache as the admin, then reads one product twice through nginx: a miss, then a hit, timed. */
export async function cacheDemo(base: string, admin: { email: string; password: string }): Promise<void> {
  const list = (await (await fetch(`${base}/products?limit=1`)).json()) as {
    items: Array<{ id: number; name: string }>;
  };
  const product = list.items[0];
  if (!product) throw new Error('no products: run `npm run stack:populate` first');
  await (await fetch(`${base}/ping`)).arrayBuffer(); // open the connection first: time the reads, not the handshake
  const login = await fetch(`${base}/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(admin),
  });
  if (!login.ok) throw new Error(`admin login failed: ${login.status} ${await login.text()}`);
  const { accessToken } = (await login.json()) as { accessToken: string };
  const cleared = await fetch(`${base}/cache/clear`, {
    method: 'DELETE',
    headers: { authorization: `Bearer ${accessToken}` },
  });
  console.log(`DELETE /cache/clear → ${cleared.status} ${await cleared.text()}`);
  for (const attempt of ['first read', 'second read']) {
    const t0 = performance.now();
    const res = await fetch(`${base}/products/${product.id}`);
    await res.arrayBuffer();
    const ms = (performance.now() - t0).toFixed(2);
    console.log(
      `${attempt.padEnd(12)} GET /products/${product.id} → ${res.status} x-cache: ${res.headers.get('x-cache')} in ${ms} ms (via nginx)`,
    );
    await sleep(50); // the miss stores its body without making the response wait
  }
}
