import { spawnSync } from 'node:child_process';

/**
 * The path of a program from a Debian package, or an error that names the
 * package. Installing system packages is .ci/run's job (as root, once per
 * machine), never an npm script's.
 */
export function systemBinary(name: string, debianPackage: string): string {
  // sbin is often missing from a user's PATH, and nginx lives there.
  const found = spawnSync('sh', ['-c', 'export PATH="$PATH:/usr/sbin:/sbin"; command -v "$1"', 'sh', name], {
    encoding: 'utf8',
  }).stdout.trim();
  if (found) return found;
  throw new Error(
    `${name} is not installed: the local stack needs Debian's ${debianPackage} package (\`apt-get install ${debianPackage}\`; .ci/run installs it with the rest)`,
  );
}
