// A lock across the test files on one sandbox. `node --test` runs test files in parallel,
// and the sandbox's faults (`/sandbox/faults`, `/sandbox/charge`) are global: a fault one
// file sets for "the next jscode2session" would be taken by another file's login. So a test
// that sets one holds this lock while it does, and a file that logs users in without
// expecting faults (frameworks.test.mjs) holds it while it runs.
// The lock is a directory in the OS temp dir, named after the sandbox's URL, holding the
// holder's pid; a lock whose holder has died is taken over.
// Lives outside test/ because Node 20's `node --test <dir>` runs every .mjs under test/.

import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function lockDir(sandboxUrl) {
  return join(tmpdir(), 'wxlogin-sandbox-lock-' + createHash('sha256').update(sandboxUrl).digest('hex').slice(0, 16));
}

/** Whether the lock at `dir` belongs to no live process (so it may be taken over). */
function abandoned(dir) {
  let pid;
  try {
    pid = Number(readFileSync(join(dir, 'pid'), 'utf8'));
  } catch {
    // Between its mkdir and its pid file, or a holder that died there.
    try { return Date.now() - statSync(dir).mtimeMs > 10_000; } catch { return false; }
  }
  if (!(pid > 0)) return true;
  try {
    process.kill(pid, 0);
    return false;
  } catch (e) {
    return e.code === 'ESRCH';
  }
}

/**
 * Waits for the lock of `sandboxUrl` and takes it; resolves with `release()` (also run
 * when this process exits).
 */
export async function acquireSandboxLock(sandboxUrl, { timeoutMs = 300_000 } = {}) {
  const dir = lockDir(sandboxUrl);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      mkdirSync(dir);
      writeFileSync(join(dir, 'pid'), String(process.pid));
      break;
    } catch (e) {
      if (e.code !== 'EEXIST') throw e;
      if (abandoned(dir)) {
        rmSync(dir, { recursive: true, force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`sandbox lock ${dir} still held after ${timeoutMs} ms`);
      await sleep(50);
    }
  }
  let held = true;
  const release = () => {
    if (!held) return;
    held = false;
    process.off('exit', release);
    rmSync(dir, { recursive: true, force: true });
  };
  process.on('exit', release);
  return release;
}

/** Runs `fn` holding the lock of `sandboxUrl`; resolves with what it resolves. */
export async function withSandboxLock(sandboxUrl, fn) {
  const release = await acquireSandboxLock(sandboxUrl);
  try {
    return await fn();
  } finally {
    release();
  }
}
