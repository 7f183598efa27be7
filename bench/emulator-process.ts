import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const TSX = fileURLToPath(new URL('../node_modules/.bin/tsx', import.meta.url));
const MAIN = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));

/** Runs the emulator in its own process, so it does not share an event loop with the load. */
export async function spawnEmulator(
  args: string[] = [],
  options: { cpu?: number } = {},
): Promise<{ url: string; child: ChildProcess; stop(): Promise<void> }> {
  const command = [TSX, MAIN, 'emulator', '--port', '0', ...args];
  if (options.cpu !== undefined) command.unshift('taskset', '--cpu-list', String(options.cpu));
  const child = spawn(command[0]!, command.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((resolve, reject) => {
    let text = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      const match = /listening on (\S+)/.exec(text);
      if (match) resolve(match[1]!);
    });
    child.once('exit', (code) => reject(new Error(`emulator exited with ${code}`)));
  });
  return {
    url,
    child,
    async stop() {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    },
  };
}
