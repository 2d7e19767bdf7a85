import { OrderRepository } from '../../modules/orders/orders.repository.ts';
import { openDatabase } from '../../platform/database.ts';
import { createLogger } from '../../platform/logger.ts';
import { loadConfigOrExit } from '../load-config.ts';

// npm run check:stock — exit 0 when every product's stock adds up, 1 otherwise.
const config = loadConfigOrExit();
const db = await openDatabase(config, createLogger({ ...config, LOG_LEVEL: 'warn' }));
try {
  const { checked, mismatches } = await new OrderRepository(db.pool).stockCheck();
  console.log(`checked ${checked} products: received = stock + held by reserved and paid orders`);
  for (const m of mismatches) {
    console.log(
      `  product ${m.productId} (${m.name}): received ${m.received}, stock ${m.stock}, held ${m.held}, difference ${m.difference}`,
    );
  }
  console.log(
    mismatches.length === 0 ? 'OK: no differences' : `FAILED: ${mismatches.length} product(s) differ`,
  );
  process.exitCode = mismatches.length === 0 ? 0 : 1;
} finally {
  await db.close();
}
