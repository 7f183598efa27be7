import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { claimDataDir, ProdLocalRefusal } from './owner.js';
import { portHolder, processStartTime } from './process.js';

const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
});

/** Another live process: the owner of a stack this test pretends runs. */
async function anotherProcess(): Promise<{ pid: number; startTime: string }> {
  const child = spawn('sleep', ['60'], { stdio: 'ignore' });
  children.push(child);
  await new Promise((resolve) => child.once('spawn', resolve));
  return { pid: child.pid!, startTime: processStartTime(child.pid!)! };
}

function ownerFile() {
  const dataDir = mkdtempSync(join(tmpdir(), 'ks-owner-'));
  return { dataDir, file: join(dataDir, 'prod-local', 'run', 'stack.pid') };
}

describe('the owner of a stack prod-local data directory', () => {
  it('is this process once claimed; claiming again from it is fine; release removes the file', () => {
    const { dataDir, file } = ownerFile();
    const ownership = claimDataDir(file, dataDir);
    expect(readFileSync(file, 'utf8')).toBe(`${process.pid} ${processStartTime(process.pid)}\n`);
    claimDataDir(file, dataDir);
    ownership.release();
    expect(existsSync(file)).toBe(false);
  });

  it('refuses while the recorded owner runs, naming the data directory and its pid, and leaves its file', async () => {
    const { dataDir, file } = ownerFile();
    claimDataDir(file, dataDir).release();
    const owner = await anotherProcess();
    writeFileSync(file, `${owner.pid} ${owner.startTime}\n`);
    expect(() => claimDataDir(file, dataDir)).toThrow(ProdLocalRefusal);
    expect(() => claimDataDir(file, dataDir)).toThrow(
      new RegExp(`data directory ${dataDir} is in use by a running stack prod-local \\(ks-onboard pid ${owner.pid};`),
    );
    expect(readFileSync(file, 'utf8')).toBe(`${owner.pid} ${owner.startTime}\n`);
  });

  it('takes over from an owner that is gone, or whose pid now names a later process', async () => {
    const { dataDir, file } = ownerFile();
    claimDataDir(file, dataDir).release();
    const other = await anotherProcess();
    // the same pid, another start time: the pid was reused
    writeFileSync(file, `${other.pid} ${Number(other.startTime) - 1}\n`);
    claimDataDir(file, dataDir).release();
    const gone = spawn('true');
    await new Promise((resolve) => gone.once('exit', resolve));
    writeFileSync(file, `${gone.pid} 12345\n`);
    claimDataDir(file, dataDir);
    expect(readFileSync(file, 'utf8')).toBe(`${process.pid} ${processStartTime(process.pid)}\n`);
  });
});

describe('portHolder', () => {
  it('names the process listening on a port: its program and script, no other argument (it may be a password)', async () => {
    const server: Server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const port = (server.address() as { port: number }).port;
      const holder = portHolder(port);
      expect(holder?.pid).toBe(process.pid);
      expect(holder?.command).toMatch(/^node\S* \S+$/);
      expect(holder?.command).not.toContain(' -');
    } finally {
      server.close();
    }
  });
});
