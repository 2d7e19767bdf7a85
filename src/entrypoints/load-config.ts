import { type Config, ConfigError, loadConfig } from '../config.ts';

/** A bad variable stops the start with a message that names it (exit code 78, EX_CONFIG). */
export function loadConfigOrExit(): Config {
  try {
    return loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`armazem: ${err.message}`);
      process.exit(78);
    }
    throw err;
  }
}
