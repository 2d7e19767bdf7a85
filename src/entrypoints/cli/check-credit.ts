import { decimalFromCents } from '../../modules/credit/cents.ts';
import { CreditRepository } from '../../modules/credit/credit.repository.ts';
import { openDatabase } from '../../platform/database.ts';
import { createLogger } from '../../platform/logger.ts';
import { loadConfigOrExit } from '../load-config.ts';

// npm run check:credit — exit 0 when every store-credit account adds up, 1 otherwise.
const config = loadConfigOrExit();
const db = await openDatabase(config, createLogger({ ...config, LOG_LEVEL: 'warn' }));
try {
  const { checked, mismatches } = await new CreditRepository(db.pool, {
    maxBatch: 1,
    concurrency: 1,
  }).check();
  console.log(
    `checked ${checked} credit accounts: balance = Σ credits − Σ debits ≥ −limit, each balanceAfter follows the one before`,
  );
  for (const m of mismatches) {
    console.log(
      `  customer ${m.customerId}: balance ${decimalFromCents(m.balance)}, limit ${decimalFromCents(m.limit)}, Σ transactions ${decimalFromCents(m.sum)}, broken links ${m.brokenLinks}`,
    );
  }
  console.log(
    mismatches.length === 0 ? 'OK: every account adds up' : `FAILED: ${mismatches.length} account(s) do not`,
  );
  process.exitCode = mismatches.length === 0 ? 0 : 1;
} finally {
  await db.close();
}
