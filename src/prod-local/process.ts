import { spawn, type ChildProcess } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
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

/** A server an earlier run left behind: the pid and command its pid file names, when that process still runs it. */
export interface Leftover {
  pid: number;
  command: string;
}

/**
 * The server a pid file names, when a live process still runs the same command (else undefined: it is gone, or its
 * pid was reused by something else).
 */
export function findLeftover(pidFile: string): Leftover | undefined {
  let text: string;
  try {
    text = readFileSync(pidFile, 'utf8');
  } catch {
    return undefined;
  }
  const [pidText, command] = text.trim().split(' ', 2);
  const pid = Number(pidText);
  if (!Number.isInteger(pid) || pid <= 1 || !command) return undefined;
  return commandOf(pid) === command ? { pid, command } : undefined;
}

/**
 * Stops the server a pid file names, when a live process runs the same command, and removes the file. Only for a
 * stack that is no longer running (src/prod-local/owner.ts says whether it is): a running one's servers are its own.
 */
export async function stopLeftover(pidFile: string, log: (line: string) => void): Promise<void> {
  const leftover = findLeftover(pidFile);
  rmSync(pidFile, { force: true });
  if (!leftover) return;
  const { pid, command } = leftover;
  log(`stopping ${command} (pid ${pid}), left running by an earlier start that ended without stopping it`);
  signalGroup(pid, 'SIGTERM');
  for (let i = 0; i < 100; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    if (!existsSync(`/proc/${pid}`)) return;
  }
  signalGroup(pid, 'SIGKILL');
}

/** A process's executable as it was started (argv[0]), or undefined when it is not running. */
function commandOf(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0] ?? '';
  } catch {
    return undefined;
  }
}

/**
 * When a process started, in clock ticks after boot (field 22 of /proc/<pid>/stat): with its pid, it names one
 * process for good, since a reused pid comes with a later start time. Undefined when it is not running.
 */
export function processStartTime(pid: number): string | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // "pid (comm) state ppid …": comm may hold spaces and parentheses, so count the fields after its last ")"
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return fields[22 - 3];
}

/**
 * Who listens on a TCP port of this machine: the process holding the listening socket (from /proc/net/tcp and
 * tcp6, then the processes' open sockets), with its command line; undefined when that cannot be seen.
 */
export function portHolder(port: number): { pid: number; command: string } | undefined {
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      const local = fields[1];
      // st 0A: LISTEN; the local address is hex "ADDR:PORT"
      if (local && fields[3] === '0A' && parseInt(local.slice(local.lastIndexOf(':') + 1), 16) === port)
        inodes.add(fields[9]!);
    }
  }
  inodes.delete('0');
  if (!inodes.size) return undefined;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${entry}/fd`);
    } catch {
      continue; // gone, or not ours to see
    }
    for (const fd of fds) {
      let target: string;
      try {
        target = readlinkSync(`/proc/${entry}/fd/${fd}`);
      } catch {
        continue;
      }
      const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
      if (inode && inodes.has(inode)) return { pid: Number(entry), command: commandLine(Number(entry)) };
    }
  }
  return undefined;
}

/**
 * A process for a message: its program and, for node, its script, never its other arguments (another process's
 * command line may carry a password, e.g. `--admin-password`).
 */
function commandLine(pid: number): string {
  let args: string[] = [];
  try {
    args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    // gone meanwhile
  }
  const program = args[0]?.split('/').pop();
  if (!program) return '?';
  const script = /^node/.test(program) ? args.slice(1).find((a) => !a.startsWith('-')) : undefined;
  return script ? `${program} ${script.split('/').slice(-3).join('/')}` : program;
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
