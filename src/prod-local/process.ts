import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { dirname } from 'node:path';

/** A server this stack started: its own process group, output in a log file, stopped by us in order. */
export interface ServerProcess {
  name: string;
  pid: number;
  logFile: string;
  child: ChildProcess;
  /** the last lines of its log, for errors */
  tail(lines?: number): string;
  /** SIGTERM to its process group, SIGKILL after the grace period */
  stop(graceMs?: number): Promise<void>;
}

export interface StartOptions {
  name: string;
  command: string;
  args: string[];
  logFile: string;
  /** the whole environment of the server: nothing of ours leaks into it */
  env: NodeJS.ProcessEnv;
  cwd?: string;
  /** the pid is recorded here while it runs: a later start stops one that an abrupt end left behind */
  pidFile: string;
}

/**
 * Starts a server in its own process group (`detached`): Ctrl-C at the terminal reaches only us, and we stop the
 * parts in order (our worker drains before the Temporal server goes).
 */
export function startServer(options: StartOptions): ServerProcess {
  mkdirSync(dirname(options.logFile), { recursive: true });
  const fd = openSync(options.logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(options.command, options.args, {
      env: options.env,
      cwd: options.cwd,
      detached: true,
      stdio: ['ignore', fd, fd],
    });
  } finally {
    closeSync(fd);
  }
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null) resolve();
    child.once('exit', () => resolve());
    child.once('error', () => resolve());
  });
  const pid = child.pid ?? -1;
  if (pid > 0) writeFileSync(options.pidFile, `${pid} ${options.command}\n`);
  const alive = () => child.exitCode === null && child.signalCode === null && pid > 0;
  return {
    name: options.name,
    pid,
    logFile: options.logFile,
    child,
    tail: (lines = 15) => tailOf(options.logFile, lines),
    async stop(graceMs = 15_000) {
      if (alive()) {
        signalGroup(pid, 'SIGTERM');
        const timer = setTimeout(() => signalGroup(pid, 'SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
      }
      rmSync(options.pidFile, { force: true });
    },
  };
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

/**
 * A server an earlier run left behind (its process ended without stopping it): stopped when the pid file names a
 * live process running the same command, so a restart never meets its own ports taken.
 */
export async function stopLeftover(pidFile: string, log: (line: string) => void): Promise<void> {
  if (!existsSync(pidFile)) return;
  const [pidText, command] = readFileSync(pidFile, 'utf8').trim().split(' ', 2);
  const pid = Number(pidText);
  rmSync(pidFile, { force: true });
  if (!Number.isInteger(pid) || pid <= 1 || !command) return;
  let cmdline = '';
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0] ?? '';
  } catch {
    return; // not running
  }
  if (cmdline !== command) return; // the pid was reused by something else
  log(`stopping ${command} (pid ${pid}), left running by an earlier start`);
  signalGroup(pid, 'SIGTERM');
  for (let i = 0; i < 100; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    if (!existsSync(`/proc/${pid}`)) return;
  }
  signalGroup(pid, 'SIGKILL');
}

/** The last lines of a log; a JSON line (the Temporal server's) as its level, message and error, without stack. */
export function tailOf(file: string, lines: number): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return '';
  }
  return text
    .trimEnd()
    .split('\n')
    .slice(-lines)
    .map((line) => {
      try {
        const entry = JSON.parse(line) as { level?: string; msg?: string; error?: string };
        return [entry.level, entry.msg, entry.error].filter(Boolean).join(': ');
      } catch {
        return line;
      }
    })
    .join('\n');
}

/** Whether something accepts TCP connections on host:port. */
export function portOpen(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    const done = (open: boolean) => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Polls `ready` until it holds; fails early when the process exits, naming its log. */
export async function waitUntil(
  server: ServerProcess,
  ready: () => Promise<boolean>,
  what: string,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (server.child.exitCode !== null || server.child.signalCode !== null)
      throw new Error(
        `${server.name} exited (${server.child.exitCode ?? server.child.signalCode}) before ${what}; ` +
          `its log ${server.logFile} ends:\n${server.tail()}`,
      );
    if (await ready().catch(() => false)) return;
    if (Date.now() > deadline)
      throw new Error(
        `${server.name} did not get ${what} within ${timeoutMs / 1000} s; its log ${server.logFile} ends:\n${server.tail()}`,
      );
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
