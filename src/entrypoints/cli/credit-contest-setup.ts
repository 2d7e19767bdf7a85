import { CONTEST_CLIENTS, ensureContestClients } from '../../modules/credit/contest-clients.ts';
import { CustomerRepository } from '../../modules/customers/customers.repository.ts';
import { openDatabase } from '../../platform/database.ts';
import { createLogger } from '../../platform/logger.ts';
import { migrate } from '../../platform/migrations.ts';
import { loadConfigOrExit } from '../load-config.ts';

// npm run credit:contest-setup — migrates, then creates the Rinha 2024/Q1 clients 1–5 that are missing.
const config = loadConfigOrExit();
const log = createLogger(config);
const db = await openDatabase(config, log);
try {
  await migrate(db.pool, log);
  const created = await ensureContestClients(db.pool, new CustomerRepository(db.pool));
  for (const c of CONTEST_CLIENTS) {
    console.log(
      `client ${c.clientId} (${c.name}), limit ${c.limit}: ${created.includes(c.clientId) ? 'created' : 'already there, untouched'}`,
    );
  }
} finally {
  await db.close();
}
